/** `npm run bench -- <name>`: runs bench/<name>.ts, which prints one JSON object. */
const name = process.argv[2] ?? 'decode';
if (!/^[a-z-]+$/.test(name)) throw new Error(`unknown benchmark "${name}"`);
await import(`./${name}.ts`);
