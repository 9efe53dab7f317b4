/** `npm run gateway:admin -- <command>`: the operator CLI, on the same environment (so the same store) as the server. */
import { fileURLToPath } from 'node:url';
import { ConfigError, loadConfig } from '../config';
import { cryptoRandom, systemClock } from '../deps';
import { openStore } from '../store';
import { runAdmin } from './commands';

export async function main(argv: string[], env: Record<string, string | undefined>): Promise<number> {
  let config;
  try {
    config = loadConfig(env);
  } catch (e) {
    if (e instanceof ConfigError) {
      console.error(`Gateway configuration error: ${e.message}`);
      return 78;
    }
    throw e;
  }
  const store = openStore(config);
  try {
    const out = (line: string): void => void process.stdout.write(`${line}\n`);
    return await runAdmin(argv, { store, clock: systemClock, random: cryptoRandom, config, out, err: (line) => console.error(line) });
  } finally {
    await store.close();
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  main(process.argv.slice(2), process.env).then(
    (code) => {
      process.exitCode = code;
    },
    (e: unknown) => {
      console.error(`Admin command failed: ${e instanceof Error ? e.name : 'error'}`);
      process.exitCode = 1;
    },
  );
}
