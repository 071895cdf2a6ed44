import { benchProxyCpu } from '../bench/proxy-cpu';
benchProxyCpu({ sizes: [100, 1000], rounds: 4, batchMs: 10 }).then((r) => console.log(JSON.stringify(r.cases.map((c) => [c.name, c.proxyMs.median, c.floorMs.median, c.ratio, c.backendBytes, c.responseBytes]))), (e) => { console.error(e); process.exit(1); });
