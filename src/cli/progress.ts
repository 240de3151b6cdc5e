/**
 * A spinner on stderr while something is awaited, only when stderr is a terminal (never in
 * pipes or logs, so scripts see clean output).
 */
export async function withProgress<T>(label: string, work: Promise<T>, stream: NodeJS.WriteStream = process.stderr): Promise<T> {
  if (!stream.isTTY) return work;
  const frames = ["⠋", "⠙", "⠹", "⠸", "⠼", "⠴", "⠦", "⠧", "⠇", "⠏"];
  const started = Date.now();
  let i = 0;
  const draw = (): void => {
    const secs = Math.floor((Date.now() - started) / 1000);
    stream.write(`\r${frames[i++ % frames.length]} ${label} (${secs}s)\x1b[K`);
  };
  draw();
  const timer = setInterval(draw, 100);
  try {
    return await work;
  } finally {
    clearInterval(timer);
    stream.write("\r\x1b[K");
  }
}
