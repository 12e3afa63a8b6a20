// One end of a call from the website widget, shared by the widget and the agent's app: the
// browser's RTCPeerConnection with its microphone (and camera), and the signalling it sends and
// takes as `call_signal` frames through its socket. The visitor's end makes the offer once an
// agent accepted; the agent's end answers. Candidates that arrive before the remote
// description wait for it. No framework, no DOM: the caller shows the streams.

/** What goes through the socket between the two ends (the server passes only these fields). */
export type CallSignal =
  | { description: { type: 'offer' | 'answer'; sdp: string } }
  | { candidate: { candidate: string; sdpMid?: string | null; sdpMLineIndex?: number | null } | null };

export interface CallPeerOptions {
  iceServers: RTCIceServer[];
  /** Send the camera too (a video call). */
  video: boolean;
  /** Hands a signal to the socket. */
  send: (signal: CallSignal) => void;
  /** The other end's media arrived (or changed). */
  onRemote: (stream: MediaStream) => void;
  /** The connection's state (`connected`, `failed`…). */
  onState?: (state: RTCPeerConnectionState) => void;
}

/** Reads a frame's `data` as a signal, or null when it is not one. */
export function parseSignal(data: unknown): CallSignal | null {
  if (typeof data !== 'object' || data === null) return null;
  const d = data as Record<string, unknown>;
  const description = d.description as Record<string, unknown> | undefined;
  if (description && (description.type === 'offer' || description.type === 'answer') && typeof description.sdp === 'string')
    return { description: { type: description.type, sdp: description.sdp } };
  if ('candidate' in d) {
    const c = d.candidate as Record<string, unknown> | null;
    if (c === null) return { candidate: null };
    if (typeof c === 'object' && typeof c.candidate === 'string')
      return {
        candidate: {
          candidate: c.candidate,
          sdpMid: typeof c.sdpMid === 'string' ? c.sdpMid : null,
          sdpMLineIndex: typeof c.sdpMLineIndex === 'number' ? c.sdpMLineIndex : null,
        },
      };
  }
  return null;
}

export class CallPeer {
  readonly pc: RTCPeerConnection;
  local: MediaStream | null = null;
  private waiting: RTCIceCandidateInit[] = [];
  private ready: Promise<void> | null = null;
  private closed = false;

  constructor(private options: CallPeerOptions) {
    this.pc = new RTCPeerConnection({ iceServers: options.iceServers });
    this.pc.onicecandidate = (e) => {
      const c = e.candidate;
      options.send({ candidate: c ? { candidate: c.candidate, sdpMid: c.sdpMid, sdpMLineIndex: c.sdpMLineIndex } : null });
    };
    this.pc.ontrack = (e) => {
      const stream = e.streams[0] ?? new MediaStream([e.track]);
      options.onRemote(stream);
    };
    this.pc.onconnectionstatechange = () => options.onState?.(this.pc.connectionState);
  }

  /** Asks for the microphone (and camera) and adds them; throws when the browser refuses. */
  start(): Promise<void> {
    this.ready ??= (async () => {
      const stream = await navigator.mediaDevices.getUserMedia({ audio: true, video: this.options.video });
      if (this.closed) {
        for (const track of stream.getTracks()) track.stop();
        return;
      }
      this.local = stream;
      for (const track of stream.getTracks()) this.pc.addTrack(track, stream);
    })();
    return this.ready;
  }

  /** The caller's end: its offer, once its media is in. */
  async offer() {
    await this.start();
    const offer = await this.pc.createOffer();
    await this.pc.setLocalDescription(offer);
    this.options.send({ description: { type: 'offer', sdp: offer.sdp ?? '' } });
  }

  /** A signal from the other end: an offer is answered (once the media is in). */
  async take(signal: CallSignal) {
    if ('description' in signal) {
      if (signal.description.type === 'offer') await this.start();
      await this.pc.setRemoteDescription(signal.description);
      if (signal.description.type === 'offer') {
        const answer = await this.pc.createAnswer();
        await this.pc.setLocalDescription(answer);
        this.options.send({ description: { type: 'answer', sdp: answer.sdp ?? '' } });
      }
      for (const c of this.waiting.splice(0)) await this.pc.addIceCandidate(c);
    } else if (signal.candidate) {
      if (this.pc.remoteDescription) await this.pc.addIceCandidate(signal.candidate);
      else this.waiting.push(signal.candidate);
    }
  }

  /** Mutes or unmutes the microphone (the other end hears silence). */
  mute(on: boolean) {
    for (const t of this.local?.getAudioTracks() ?? []) t.enabled = !on;
  }

  /** Turns the camera off or on (the other end sees black). */
  camera(on: boolean) {
    for (const t of this.local?.getVideoTracks() ?? []) t.enabled = on;
  }

  /** Ends this end: the microphone and camera are released. */
  close() {
    this.closed = true;
    for (const t of this.local?.getTracks() ?? []) t.stop();
    this.pc.close();
  }
}
