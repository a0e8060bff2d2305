// Shared driver for the Node.js Sentinel clients of the client matrix (tests/compat_clients.rs).
//
// Protocol with the Rust test, one line per event on stdout:
//   FIRST <port>     the client wrote to the master at <port> (the test then kills it)
//   SWITCHED <port>  the same client object later wrote to a different master <port>
// Exit 0 after SWITCHED; exit 1 (with the last error on stderr) when the deadline passes.
'use strict';

function args() {
  const [ports, name, deadlineSecs] = process.argv.slice(2);
  return {
    ports: ports.split(',').map(Number),
    name,
    deadline: Date.now() + 1000 * Number(deadlineSecs),
  };
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// `write(i)` sets a key on the master through the client; `port()` asks the node the client
// is connected to for its port (CONFIG GET port, answered by redis-server).
async function drive(label, deadline, write, port) {
  let first = null;
  let last = null;
  for (let i = 0; Date.now() < deadline; i++) {
    try {
      await write(i);
      const p = await port();
      if (first === null) {
        first = p;
        console.log(`FIRST ${p}`);
      } else if (p !== first) {
        console.log(`SWITCHED ${p}`);
        return;
      }
    } catch (e) {
      last = e;
    }
    await sleep(200);
  }
  throw new Error(`${label}: deadline passed (first=${first}); last error: ${last}`);
}

function main(label, run) {
  run()
    .then(() => process.exit(0))
    .catch((e) => {
      console.error(`${label} FAILED: ${e && e.stack ? e.stack : e}`);
      process.exit(1);
    });
}

module.exports = { args, drive, main };
