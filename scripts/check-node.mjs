// Fails early, with the fix, when npm runs under a Node older than the Lambda runtime's major.
const major = Number(process.versions.node.split('.')[0]);
if (major < 24) {
  console.error(
    `Node ${process.versions.node} is too old: this project needs Node 24 (the Lambda runtime nodejs24.x).\n` +
      'Run `bash scripts/setup.sh`, then `export PATH="$PWD/.tools/node/bin:$PATH"`.',
  );
  process.exit(1);
}
