/**
 * The isolate's own memory figures from inside workerd, through the DevTools protocol that
 * `wrangler dev --inspector-port` exposes: V8's Runtime.getHeapUsage (JS heap, the embedder's heap,
 * and the backing stores of ArrayBuffers, WebAssembly memories included). This is what the 128 MB
 * limit counts; workerd has no other way to report it.
 */

export interface IsolateHeap {
  /** JS objects (V8 heap, used). */
  readonly usedSize: number;
  readonly totalSize: number;
  /** workerd's own C++ objects attributed to the isolate. */
  readonly embedderHeapUsedSize: number;
  /** ArrayBuffer and WebAssembly.Memory backing stores. */
  readonly backingStorageSize: number;
}

/** usedSize + embedder + backing stores: the isolate's memory as the limit sees it. */
export const isolateBytes = (h: IsolateHeap) => h.usedSize + h.embedderHeapUsedSize + h.backingStorageSize;

/** One connection to a worker's inspector; `heap()` may be called repeatedly. */
export class InspectorClient {
  private nextId = 0;
  private readonly pending = new Map<number, (result: unknown) => void>();

  private constructor(private readonly ws: WebSocket) {
    ws.onmessage = (e: MessageEvent) => {
      const m = JSON.parse(String(e.data)) as { id?: number; result?: unknown; error?: { message: string } };
      if (m.id === undefined) return;
      this.pending.get(m.id)?.(m.error ? new Error(`inspector: ${m.error.message}`) : m.result);
      this.pending.delete(m.id);
    };
  }

  static connect(port: number, timeoutMs = 10_000): Promise<InspectorClient> {
    // wrangler's inspector proxy refuses a WebSocket without an Origin (DNS-rebinding protection);
    // Node's WebSocket (undici) accepts extra headers in its second argument.
    const Ws = WebSocket as unknown as new (url: string, init: { headers: Record<string, string> }) => WebSocket;
    const ws = new Ws(`ws://127.0.0.1:${port}/ws`, { headers: { Origin: `http://127.0.0.1:${port}` } });
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`inspector on port ${port} did not open in ${timeoutMs} ms`)), timeoutMs);
      ws.onopen = () => { clearTimeout(timer); resolve(new InspectorClient(ws)); };
      ws.onerror = () => { clearTimeout(timer); reject(new Error(`cannot connect to the inspector on port ${port}`)); };
    });
  }

  private call(method: string, timeoutMs = 30_000): Promise<unknown> {
    const id = ++this.nextId;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => { this.pending.delete(id); reject(new Error(`inspector: ${method} got no answer in ${timeoutMs} ms`)); }, timeoutMs);
      this.pending.set(id, (r) => { clearTimeout(timer); if (r instanceof Error) reject(r); else resolve(r); });
      this.ws.send(JSON.stringify({ id, method, params: {} }));
    });
  }

  async heap(): Promise<IsolateHeap> {
    return (await this.call('Runtime.getHeapUsage')) as IsolateHeap;
  }

  close(): void {
    this.ws.close();
  }
}
