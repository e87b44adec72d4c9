/**
 * English messages for zod/mini. Classic zod registers its English locale by itself; zod/mini
 * registers none (a smaller bundle), and every built-in issue would then read just "Invalid input".
 * Our validation errors quote these messages (policy files, alarm events, endpoints, deployment
 * configuration), so every module that defines zod/mini schemas imports this file for its effect.
 *
 * `en` is imported on its own: `z.locales.en` would put every locale into the Lambda bundles.
 * No memoizer is configured either (classic zod installs one): it serves only recursive
 * schemas, and none of ours is.
 */
import { en } from 'zod/locales';
import * as z from 'zod/mini';

z.config(en());
