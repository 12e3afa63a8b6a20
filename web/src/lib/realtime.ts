// The agent's WebSocket: resumes with ?after=<last event id> after a drop, drops frames it
// already has (ids ≤ the last seen), and asks listeners to refetch on `resync`.

export type Frame = { type: string; [key: string]: any };
type Listener = (frame: Frame) => void;

export class Realtime {
  private socket: WebSocket | null = null;
  private lastId = 0;
  private listeners = new Set<Listener>();
  private retry = 0;
  private stopped = false;
  private timer: ReturnType<typeof setTimeout> | null = null;
  connected = false;

  constructor(private path = '/api/v1/realtime') {}

  start() {
    this.stopped = false;
    this.open();
  }

  stop() {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.socket?.close();
    this.socket = null;
  }

  on(listener: Listener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  send(frame: Frame) {
    if (this.socket?.readyState === WebSocket.OPEN) this.socket.send(JSON.stringify(frame));
  }

  private emit(frame: Frame) {
    for (const l of this.listeners) l(frame);
  }

  private open() {
    const scheme = location.protocol === 'https:' ? 'wss' : 'ws';
    const after = this.lastId ? `?after=${this.lastId}` : '';
    const socket = new WebSocket(`${scheme}://${location.host}${this.path}${after}`);
    this.socket = socket;
    socket.onmessage = (message) => {
      let frame: Frame;
      try {
        frame = JSON.parse(message.data);
      } catch {
        return;
      }
      if (frame.type === 'ready') {
        this.retry = 0;
        this.connected = true;
        if (typeof frame.last_event_id === 'number') this.lastId = Math.max(this.lastId, frame.last_event_id);
      }
      if (frame.type === 'event' && typeof frame.id === 'number') {
        if (frame.id <= this.lastId) return;
        this.lastId = frame.id;
      }
      this.emit(frame);
    };
    socket.onclose = () => {
      this.connected = false;
      this.emit({ type: 'disconnected' });
      if (this.stopped || this.socket !== socket) return;
      const delay = Math.min(30_000, 500 * 2 ** this.retry++);
      this.timer = setTimeout(() => this.open(), delay);
    };
  }
}
