/** Creates the tables from `tableDesigns`: for dynalite (local mode, tests). The CDK stack does the same in AWS. */
import {
  CreateTableCommand,
  DescribeTableCommand,
  ResourceInUseException,
  type AttributeDefinition,
  type DynamoDBClient,
  type KeySchemaElement,
} from '@aws-sdk/client-dynamodb';
import { tableDesigns, type IndexDesign, type TableDesign, type TableName, type TableNames } from './tables.ts';

function keySchema(design: Pick<TableDesign, 'partitionKey' | 'sortKey'> | IndexDesign): KeySchemaElement[] {
  const keys: KeySchemaElement[] = [{ AttributeName: design.partitionKey.name, KeyType: 'HASH' }];
  if (design.sortKey) keys.push({ AttributeName: design.sortKey.name, KeyType: 'RANGE' });
  return keys;
}

function attributeDefinitions(design: TableDesign): AttributeDefinition[] {
  const all = [design.partitionKey, design.sortKey, ...design.globalSecondaryIndexes.flatMap((i) => [i.partitionKey, i.sortKey])];
  const byName = new Map<string, AttributeDefinition>();
  for (const key of all) if (key) byName.set(key.name, { AttributeName: key.name, AttributeType: key.type });
  return [...byName.values()];
}

/** Creates each table that does not exist yet (idempotent), and waits until all are ACTIVE. */
export async function createTables(client: DynamoDBClient, names: TableNames): Promise<void> {
  for (const table of Object.keys(tableDesigns) as TableName[]) {
    const design = tableDesigns[table];
    try {
      await client.send(
        new CreateTableCommand({
          TableName: names[table],
          BillingMode: 'PAY_PER_REQUEST',
          KeySchema: keySchema(design),
          AttributeDefinitions: attributeDefinitions(design),
          ...(design.globalSecondaryIndexes.length > 0
            ? {
                GlobalSecondaryIndexes: design.globalSecondaryIndexes.map((index) => ({
                  IndexName: index.indexName,
                  KeySchema: keySchema(index),
                  Projection: { ProjectionType: 'ALL' },
                })),
              }
            : {}),
        }),
      );
    } catch (error) {
      if (!(error instanceof ResourceInUseException)) throw error;
    }
  }
  for (const table of Object.keys(tableDesigns) as TableName[]) {
    for (let attempt = 0; ; attempt++) {
      const { Table } = await client.send(new DescribeTableCommand({ TableName: names[table] }));
      if (Table?.TableStatus === 'ACTIVE') break;
      if (attempt > 200) throw new Error(`table ${names[table]} did not become ACTIVE`);
      await new Promise((resolve) => setTimeout(resolve, 25));
    }
  }
}
