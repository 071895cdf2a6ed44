(async () => {
  const a = async (x: number) => x + 1;
  const b = async (x: number) => (await a(x)) + 1;
  const c = async (x: number) => (await b(await a(x))) + 1;
  for (let r = 0; r < 3; r++) {
    let t0 = process.hrtime.bigint(); let s = 0;
    for (let i = 0; i < 200000; i++) s += await c(i);
    console.log('4 async layers', (Number(process.hrtime.bigint() - t0) / 1e3 / 200000).toFixed(3), 'µs');
    t0 = process.hrtime.bigint();
    for (let i = 0; i < 200000; i++) s += await a(i);
    console.log('1 async layer', (Number(process.hrtime.bigint() - t0) / 1e3 / 200000).toFixed(3), 'µs');
  }
})();
