// onnxruntime-web in a Node worker thread of its own (./ort-web-host.mjs), so that each peer
// gets the thread count it is named for (./ort.ts).
import { parentPort, workerData } from 'node:worker_threads';
import { serveOrt } from './ort-web-host.mjs';

const serve = serveOrt(await import('onnxruntime-web'), workerData.threads, (reply, transfer) => parentPort.postMessage(reply, transfer));
parentPort.on('message', serve);
