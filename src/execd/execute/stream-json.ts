import { createReadStream } from "node:fs";
import type { ServerResponse } from "node:http";
import path from "node:path";

/** Encoded size of `bytes` bytes in base64. */
export const base64Length = (bytes: number): number => Math.ceil(bytes / 3) * 4;

/** Writes to the response, waiting for the socket to drain when its buffer is full. */
export async function write(res: ServerResponse, chunk: string | Buffer): Promise<void> {
  if (res.destroyed) throw new Error("client went away");
  if (!res.write(chunk)) {
    await new Promise<void>((resolve, reject) => {
      const done = (): void => {
        res.off("drain", done);
        res.off("close", gone);
        resolve();
      };
      const gone = (): void => {
        res.off("drain", done);
        reject(new Error("client went away"));
      };
      res.once("drain", done);
      res.once("close", gone);
    });
  }
}

/**
 * Streams a file into the response as base64 text, a few hundred KiB at a time, so a
 * 100 MB output file is never held in memory as bytes, as base64 and as JSON at once.
 */
export async function writeFileBase64(res: ServerResponse, root: string, name: string): Promise<void> {
  // A multiple of 3 so every chunk but the last encodes without padding.
  const stream = createReadStream(path.join(root, name), { highWaterMark: 3 * 128 * 1024 });
  let carry = Buffer.alloc(0);
  for await (const chunk of stream as AsyncIterable<Buffer>) {
    const data = carry.length ? Buffer.concat([carry, chunk]) : chunk;
    const whole = data.length - (data.length % 3);
    if (whole > 0) await write(res, data.subarray(0, whole).toString("base64"));
    carry = Buffer.from(data.subarray(whole));
  }
  if (carry.length) await write(res, carry.toString("base64"));
}

/**
 * Writes `{...head, [filesKey]: [{name, size, content}, ...]}` with each file's content
 * streamed from disk. `head` must not contain `filesKey`.
 */
export async function writeJsonWithFiles(
  res: ServerResponse,
  head: Record<string, unknown>,
  filesKey: string,
  root: string,
  files: Array<{ name: string; size: number }>,
  withSize: boolean,
): Promise<void> {
  const prefix = JSON.stringify(head);
  await write(res, `${prefix.slice(0, -1)}${prefix.length > 2 ? "," : ""}${JSON.stringify(filesKey)}:[`);
  let first = true;
  for (const file of files) {
    const meta = withSize ? `"name":${JSON.stringify(file.name)},"size":${file.size}` : `"name":${JSON.stringify(file.name)}`;
    await write(res, `${first ? "" : ","}{${meta},"content":"`);
    await writeFileBase64(res, root, file.name);
    await write(res, `"}`);
    first = false;
  }
  await write(res, "]}");
}
