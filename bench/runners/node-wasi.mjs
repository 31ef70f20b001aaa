// Runs a wasm32-wasi command under Node's built-in WASI:
//   node --no-warnings node-wasi.mjs MODULE.wasm ARGS...
// No preopened directories, an empty environment; exits with the guest's code.
import { readFile } from 'node:fs/promises';
import { argv, exit } from 'node:process';
import { WASI } from 'node:wasi';

const [file, ...args] = argv.slice(2);
const wasi = new WASI({ version: 'preview1', args: [file, ...args], env: {}, returnOnExit: true });
const module = await WebAssembly.compile(await readFile(file));
const instance = await WebAssembly.instantiate(module, wasi.getImportObject());
exit(wasi.start(instance));
