// A small pino-compatible logger writing JSON lines to stdout, so the example needs no logging dependency.
const LEVELS = { debug: 20, info: 30, warn: 40, error: 50 };

export function jsonLogger(minLevel = 'info', bindings = {}) {
  const write = (level) => (obj, msg) => {
    if (LEVELS[level] < LEVELS[minLevel]) return;
    process.stdout.write(`${JSON.stringify({ time: new Date().toISOString(), level, ...bindings, ...obj, msg })}\n`);
  };
  return {
    debug: write('debug'),
    info: write('info'),
    warn: write('warn'),
    error: write('error'),
    child: (more) => jsonLogger(minLevel, { ...bindings, ...more }),
  };
}
