import { describe, expect, it } from 'vitest';
import { frameSize, jsonCodec, type Packet } from '../src/codec';

const roundTrip = (p: Packet): Packet => jsonCodec.decode(jsonCodec.encode(p));

describe('jsonCodec.encode', () => {
  it('writes an event as a JSON array of its name and arguments', () => {
    expect(jsonCodec.encode({ event: 'message', args: ['hi'] })).toBe('["message","hi"]');
    expect(jsonCodec.encode({ event: 'move', args: [1, { x: 2 }, null] })).toBe('["move",1,{"x":2},null]');
    expect(jsonCodec.encode({ event: 'ping', args: [] })).toBe('["ping"]');
  });

  it('writes a request as an object with id, event and args', () => {
    expect(jsonCodec.encode({ id: 7, event: 'history', args: ['abc'] })).toBe('{"id":7,"event":"history","args":["abc"]}');
    expect(jsonCodec.encode({ id: 0, event: 'list', args: [] })).toBe('{"id":0,"event":"list","args":[]}');
  });

  it('writes a successful reply as an object with id and result', () => {
    expect(jsonCodec.encode({ id: 7, args: [{ ok: true }] })).toBe('{"id":7,"result":{"ok":true}}');
  });

  it('writes a failed reply as an object with id and error', () => {
    expect(jsonCodec.encode({ id: 7, args: [], error: 'not allowed' })).toBe('{"id":7,"error":"not allowed"}');
    expect(jsonCodec.encode({ id: 8, args: [], error: null })).toBe('{"id":8,"error":null}');
  });

  it('passes an ArrayBuffer sent as the event binary through untouched', () => {
    const data = new Uint8Array([1, 2, 3]).buffer;
    expect(jsonCodec.encode({ event: 'binary', args: [data] })).toBe(data);
  });

  it('passes a Uint8Array sent as the event binary through untouched', () => {
    const data = new Uint8Array([4, 5, 6]);
    expect(jsonCodec.encode({ event: 'binary', args: [data] })).toBe(data);
  });

  it('passes a Blob sent as the event binary through untouched', () => {
    const data = new Blob(['abc']);
    expect(jsonCodec.encode({ event: 'binary', args: [data] })).toBe(data);
  });

  it('encodes the event binary as JSON when its argument is not binary', () => {
    expect(jsonCodec.encode({ event: 'binary', args: ['text'] })).toBe('["binary","text"]');
  });

  it('encodes binary data sent under another event name as JSON', () => {
    expect(jsonCodec.encode({ event: 'file', args: [new Uint8Array([1, 2])] })).toBe('["file",{"0":1,"1":2}]');
  });
});

describe('jsonCodec.decode', () => {
  it('reads an event array', () => {
    expect(jsonCodec.decode('["message","hi",2]')).toStrictEqual({ event: 'message', args: ['hi', 2] });
    expect(jsonCodec.decode('["ping"]')).toStrictEqual({ event: 'ping', args: [] });
  });

  it('reads a request', () => {
    expect(jsonCodec.decode('{"id":3,"event":"sum","args":[1,2]}')).toStrictEqual({ id: 3, event: 'sum', args: [1, 2] });
  });

  it('reads a request without args as one with no arguments', () => {
    expect(jsonCodec.decode('{"id":3,"event":"now"}')).toStrictEqual({ id: 3, event: 'now', args: [] });
    expect(jsonCodec.decode('{"id":3,"event":"now","args":"x"}')).toStrictEqual({ id: 3, event: 'now', args: [] });
  });

  it('reads a reply with a result', () => {
    expect(jsonCodec.decode('{"id":3,"result":[1,2]}')).toStrictEqual({ id: 3, args: [[1, 2]] });
  });

  it('reads a reply with an error, even a null one', () => {
    expect(jsonCodec.decode('{"id":3,"error":{"message":"no"}}')).toStrictEqual({ id: 3, args: [], error: { message: 'no' } });
    expect(jsonCodec.decode('{"id":4,"error":null}')).toStrictEqual({ id: 4, args: [], error: null });
  });

  it('reads a reply with neither result nor error as a result of undefined', () => {
    expect(jsonCodec.decode('{"id":5}')).toStrictEqual({ id: 5, args: [undefined] });
  });

  it('reads an ArrayBuffer frame as the event binary', () => {
    const data = new ArrayBuffer(4);
    const p = jsonCodec.decode(data);
    expect(p).toStrictEqual({ event: 'binary', args: [data] });
    expect(p.args[0]).toBe(data);
  });

  it('reads a Uint8Array frame as the event binary', () => {
    const data = new Uint8Array([9, 8]);
    const p = jsonCodec.decode(data);
    expect(p.event).toBe('binary');
    expect(p.args).toHaveLength(1);
    expect(p.args[0]).toBe(data);
  });

  it('reads a Blob frame as the event binary', () => {
    const data = new Blob(['x']);
    const p = jsonCodec.decode(data);
    expect(p.event).toBe('binary');
    expect(p.args[0]).toBe(data);
  });

  it('throws a SyntaxError for text that is not JSON', () => {
    expect(() => jsonCodec.decode('not json')).toThrow(SyntaxError);
    expect(() => jsonCodec.decode('')).toThrow(SyntaxError);
    expect(() => jsonCodec.decode('["unterminated"')).toThrow(SyntaxError);
  });

  it.each([
    ['null', 'null'],
    ['a number', '42'],
    ['a boolean', 'true'],
    ['a string', '"hello"'],
    ['an empty array', '[]'],
    ['an array not starting with a name', '[1,"a"]'],
    ['an array starting with null', '[null,"a"]'],
    ['an object without id', '{"event":"x","args":[]}'],
    ['an object with a string id', '{"id":"7","result":1}'],
    ['an object with a null id', '{"id":null,"result":1}'],
  ])('throws a TypeError for JSON that is %s', (_, frame) => {
    expect(() => jsonCodec.decode(frame)).toThrow(TypeError);
    expect(() => jsonCodec.decode(frame)).toThrow('not ["event", ...args] or {"id": n}');
  });
});

describe('jsonCodec round trips', () => {
  it.each<[string, Packet]>([
    ['an event', { event: 'message', args: ['hi', 1, true, null, { nested: [1, 'two'] }] }],
    ['an event without arguments', { event: 'ping', args: [] }],
    ['a request', { id: 12, event: 'history', args: ['room', { limit: 50 }] }],
    ['a request without arguments', { id: 1, event: 'whoami', args: [] }],
    ['a reply with a result', { id: 12, args: [{ messages: ['a', 'b'] }] }],
    ['a reply with a null result', { id: 12, args: [null] }],
    ['a reply with an error', { id: 12, args: [], error: { code: 403, message: 'forbidden' } }],
  ])('keeps %s as it was', (_, packet) => {
    expect(roundTrip(packet)).toStrictEqual(packet);
  });

  it('keeps an ArrayBuffer as the same object both ways', () => {
    const data = new Uint8Array([1, 2, 3, 255]).buffer;
    const p = roundTrip({ event: 'binary', args: [data] });
    expect(p.event).toBe('binary');
    expect(p.args[0]).toBe(data);
    expect([...new Uint8Array(p.args[0] as ArrayBuffer)]).toEqual([1, 2, 3, 255]);
  });

  it('keeps a Uint8Array as the same object both ways', () => {
    const data = new Uint8Array([7, 7, 7]);
    const p = roundTrip({ event: 'binary', args: [data] });
    expect(p.event).toBe('binary');
    expect(p.args[0]).toBe(data);
  });
});

describe('frameSize', () => {
  it('counts UTF-8 bytes of text, as a server does', () => {
    expect(frameSize('')).toBe(0);
    expect(frameSize('hello')).toBe(5);
    expect(frameSize('é')).toBe(2);
    expect(frameSize('€')).toBe(3);
    expect(frameSize('😀')).toBe(4);
    expect(frameSize('["message","hi"]')).toBe(16);
  });

  it('agrees with Buffer.byteLength on mixed text', () => {
    for (const s of ['a€😀é\u07ff\u0800\uffff', '€'.repeat(1000), 'x\u0080\u00ff\ud7ff\ue000'])
      expect(frameSize(s)).toBe(Buffer.byteLength(s));
  });

  it('counts bytes of an ArrayBuffer', () => {
    expect(frameSize(new ArrayBuffer(0))).toBe(0);
    expect(frameSize(new ArrayBuffer(16))).toBe(16);
  });

  it('counts bytes of a typed array or DataView, not its elements or its whole buffer', () => {
    expect(frameSize(new Uint8Array(10))).toBe(10);
    expect(frameSize(new Float64Array(3))).toBe(24);
    expect(frameSize(new Uint8Array(new ArrayBuffer(32), 8, 4))).toBe(4);
    expect(frameSize(new DataView(new ArrayBuffer(12), 2))).toBe(10);
  });

  it('counts bytes of a Blob', () => {
    expect(frameSize(new Blob(['abc']))).toBe(3);
    expect(frameSize(new Blob(['😀']))).toBe(4);
    expect(frameSize(new Blob([]))).toBe(0);
  });
});
