// node-redis v5 `createSentinel`: SENTINEL SENTINELS / MASTER / REPLICAS and PSUBSCRIBE
// of the topology events on our sentinels; keeps writing across a failover.
'use strict';
const { createSentinel } = require('redis');
const { args, drive, main } = require('./common');

main('node-redis', async () => {
  const a = args();
  const s = createSentinel({
    name: a.name,
    sentinelRootNodes: a.ports.map((port) => ({ host: '127.0.0.1', port })),
    nodeClientOptions: { socket: { connectTimeout: 1000, reconnectStrategy: () => 200 } },
    sentinelClientOptions: { socket: { connectTimeout: 1000, reconnectStrategy: () => 200 } },
  });
  s.on('error', () => {});
  await s.connect();
  await drive('node-redis', a.deadline,
    (i) => s.set('node-redis-key', String(i)),
    async () => Number((await s.configGet('port')).port));
  await s.close().catch(() => {});
});
