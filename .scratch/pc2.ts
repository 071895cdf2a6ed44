import { benchProxyCpu } from '../bench/proxy-cpu';
benchProxyCpu({ sizes: [100], rounds: 6, batchMs: 20, profileFile: '/tmp/pc100.cpuprofile' }).then((r) => console.log(JSON.stringify(r.cases.map((c) => [c.name, c.proxyMs.median, c.floorMs.median, c.ratio, c.callsPerRound]))), (e) => { console.error(e); process.exit(1); });
