/** Serves onnxruntime-web `ort` with `threads` WebAssembly threads: `post(reply, transfer)` answers, the returned function takes each message (./ort-web-host.mjs). */
export function serveOrt(ort: unknown, threads: number, post: (reply: unknown, transfer: Transferable[]) => void): (message: unknown) => Promise<void>;
