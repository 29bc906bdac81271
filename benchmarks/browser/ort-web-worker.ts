/**
 * onnxruntime-web in a page's worker of its own (../peers/ort-web-host.mjs), with the thread count
 * the worker's name ends with ('ort-web:2'): the browser counterpart of ../peers/ort-web-thread.mjs.
 */
import { serveOrt } from '../peers/ort-web-host.mjs';

const threads = Number(self.name.split(':')[1]);
const post = (reply: unknown, transfer: Transferable[]) => (self as unknown as Worker).postMessage(reply, transfer);
const ready = import('onnxruntime-web').then((ort) => serveOrt(ort, threads, post));
self.onmessage = (e: MessageEvent) => void ready.then((serve) => serve(e.data));
