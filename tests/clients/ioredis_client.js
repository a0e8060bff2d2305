// ioredis with `sentinels` + `name`: finds the master through our sentinels (SENTINEL
// get-master-addr-by-name / sentinels), keeps writing across a failover.
'use strict';
const Redis = require('ioredis');
const { args, drive, main } = require('./common');

main('ioredis', async () => {
  const a = args();
  const r = new Redis({
    sentinels: a.ports.map((port) => ({ host: '127.0.0.1', port })),
    name: a.name,
    connectTimeout: 1000,
    maxRetriesPerRequest: 1,
    sentinelRetryStrategy: () => 200,
    retryStrategy: () => 200,
  });
  r.on('error', () => {});
  await drive('ioredis', a.deadline,
    (i) => r.set('ioredis-key', String(i)),
    async () => Number((await r.config('GET', 'port'))[1]));
  r.disconnect();
});
