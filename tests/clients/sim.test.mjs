// The official Anthropic and Google SDKs against the provider simulator directly:
// if they parse its answers, streams and errors, the simulator speaks the formats
// the gateway's translators are tested against.
//
// Env: CX_SIM_URL (http://127.0.0.1:PORT). Run through tests/clients/run_clients.py.
import { test, beforeEach } from 'node:test';
import assert from 'node:assert/strict';
import Anthropic from '@anthropic-ai/sdk';
import { GoogleGenAI, FinishReason } from '@google/genai';

const SIM = process.env.CX_SIM_URL;
assert.ok(SIM, 'CX_SIM_URL is not set');

async function sim(method, path, body) {
  const r = await fetch(SIM + path, {
    method,
    headers: { 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  assert.equal(r.status, 200, `simulator ${method} ${path}`);
  return r.json();
}
const fault = (spec) => sim('POST', '/_sim/faults', spec);
const lastRequest = async (provider) => (await sim('GET', `/_sim/requests?provider=${provider}`)).requests.at(-1);

beforeEach(() => sim('POST', '/_sim/reset'));

const anthropic = new Anthropic({ apiKey: 'sk-ant-sim', baseURL: `${SIM}/anthropic`, maxRetries: 0 });
const google = new GoogleGenAI({ apiKey: 'AIza-sim', httpOptions: { baseUrl: `${SIM}/google` } });
const WEATHER = {
  name: 'get_weather',
  description: 'Current weather',
  input_schema: { type: 'object', properties: { location: { type: 'string' } } },
};

// --- Anthropic -------------------------------------------------------------------

test('anthropic sdk: messages.create', async () => {
  const msg = await anthropic.messages.create({
    model: 'claude-haiku-4-5-20251001',
    max_tokens: 64,
    system: 'Be terse.',
    messages: [{ role: 'user', content: 'hello there' }],
  });
  assert.equal(msg.type, 'message');
  assert.equal(msg.stop_reason, 'end_turn');
  assert.deepEqual(msg.content, [
    { type: 'text', text: 'Hello from anthropic/claude-haiku-4-5-20251001. You said: hello there' },
  ]);
  assert.equal(msg.usage.input_tokens, 10);
  assert.equal(msg.usage.output_tokens, 7);
  const up = await lastRequest('anthropic');
  assert.equal(up.path, '/anthropic/v1/messages');
  // the key as x-api-key or (current SDKs) as a Bearer token
  assert.ok(up.headers['x-api-key'] === 'sk-ant-sim' || up.headers.authorization === 'Bearer sk-ant-sim');
  assert.ok(up.headers['anthropic-version']);
});

test('anthropic sdk: streamed text through messages.stream', async () => {
  const stream = anthropic.messages.stream({
    model: 'claude-sonnet-4-20250514',
    max_tokens: 64,
    messages: [{ role: 'user', content: 'stream it' }],
  });
  let text = '';
  stream.on('text', (t) => { text += t; });
  const final = await stream.finalMessage();
  assert.equal(text, 'Hello from anthropic/claude-sonnet-4-20250514. You said: stream it');
  assert.equal(final.content[0].text, text);
  assert.equal(final.stop_reason, 'end_turn');
  assert.equal(final.usage.output_tokens, text.split(' ').length);
});

test('anthropic sdk: tool use streamed as input_json_delta, then the tool result', async () => {
  const params = {
    model: 'claude-haiku-4-5-20251001',
    max_tokens: 64,
    tools: [WEATHER],
    messages: [{ role: 'user', content: 'What is the weather?' }],
  };
  const final = await anthropic.messages.stream(params).finalMessage();
  assert.equal(final.stop_reason, 'tool_use');
  assert.equal(final.content[0].type, 'tool_use');
  assert.equal(final.content[0].name, 'get_weather');
  assert.deepEqual(final.content[0].input, { location: 'Paris' });
  const next = await anthropic.messages.create({
    ...params,
    messages: [
      ...params.messages,
      { role: 'assistant', content: final.content },
      { role: 'user', content: [{ type: 'tool_result', tool_use_id: final.content[0].id, content: 'sunny' }] },
    ],
  });
  assert.equal(next.stop_reason, 'end_turn');
});

test('anthropic sdk: error classes', async () => {
  await fault({ provider: 'anthropic', status: 529 });
  await assert.rejects(
    anthropic.messages.create({ model: 'm', max_tokens: 8, messages: [{ role: 'user', content: 'x' }] }),
    (e) => e instanceof Anthropic.InternalServerError && e.status === 529 && e.error.error.type === 'overloaded_error',
  );
  await fault({ provider: 'anthropic', status: 401 });
  await assert.rejects(
    anthropic.messages.create({ model: 'm', max_tokens: 8, messages: [{ role: 'user', content: 'x' }] }),
    Anthropic.AuthenticationError,
  );
  await assert.rejects(
    anthropic.messages.create({ model: 'm', max_tokens: 8, messages: [{ role: 'user', content: '' }] }),
    Anthropic.BadRequestError,
  );
  await fault({ provider: 'anthropic', status: 429 });
  await assert.rejects(
    anthropic.messages.create({ model: 'm', max_tokens: 8, messages: [{ role: 'user', content: 'x' }] }),
    Anthropic.RateLimitError,
  );
});

// --- Google Gemini ------------------------------------------------------------------

test('google sdk: generateContent', async () => {
  const r = await google.models.generateContent({
    model: 'gemini-2.5-flash',
    contents: 'hello there',
    config: { systemInstruction: 'Be terse.', temperature: 0.2 },
  });
  assert.equal(r.text, 'Hello from google/gemini-2.5-flash. You said: hello there');
  assert.equal(r.candidates[0].finishReason, FinishReason.STOP);
  assert.equal(r.usageMetadata.promptTokenCount, 10);
  assert.equal(r.usageMetadata.candidatesTokenCount, 7);
  const up = await lastRequest('google');
  assert.equal(up.path, '/google/v1beta/models/gemini-2.5-flash:generateContent');
  assert.equal(up.headers['x-goog-api-key'], 'AIza-sim');
});

test('google sdk: generateContentStream over alt=sse', async () => {
  let text = '';
  let last;
  for await (const chunk of await google.models.generateContentStream({
    model: 'gemini-2.5-pro',
    contents: [{ role: 'user', parts: [{ text: 'stream it' }] }],
  })) {
    text += chunk.text ?? '';
    last = chunk;
  }
  assert.equal(text, 'Hello from google/gemini-2.5-pro. You said: stream it');
  assert.equal(last.candidates[0].finishReason, FinishReason.STOP);
  assert.equal(last.usageMetadata.candidatesTokenCount, 7);
  const up = await lastRequest('google');
  assert.equal(up.path, '/google/v1beta/models/gemini-2.5-pro:streamGenerateContent?alt=sse');
});

test('google sdk: function calling and the function response', async () => {
  const tools = [{ functionDeclarations: [{ name: 'get_weather', parametersJsonSchema: WEATHER.input_schema }] }];
  const contents = [{ role: 'user', parts: [{ text: 'weather in Paris?' }] }];
  const r = await google.models.generateContent({ model: 'gemini-2.5-flash', contents, config: { tools } });
  assert.equal(r.functionCalls.length, 1);
  assert.equal(r.functionCalls[0].name, 'get_weather');
  assert.deepEqual(r.functionCalls[0].args, { location: 'Paris' });
  const next = await google.models.generateContent({
    model: 'gemini-2.5-flash',
    config: { tools },
    contents: [
      ...contents,
      r.candidates[0].content,
      { role: 'user', parts: [{ functionResponse: { name: 'get_weather', response: { output: 'sunny' } } }] },
    ],
  });
  assert.match(next.text, /^Hello from google\/gemini-2.5-flash\./);
});

test('google sdk: safety finish and blocked prompt', async () => {
  const r = await google.models.generateContent({ model: 'gemini-2.5-flash', contents: 'something unsafe' });
  assert.equal(r.candidates[0].finishReason, FinishReason.SAFETY);
  const b = await google.models.generateContent({ model: 'gemini-2.5-flash', contents: 'blockme' });
  assert.equal(b.promptFeedback.blockReason, 'SAFETY');
  assert.equal(b.candidates, undefined);
});

test('google sdk: errors surface as ApiError with the status', async () => {
  await fault({ provider: 'google', status: 429 });
  await assert.rejects(
    google.models.generateContent({ model: 'gemini-2.5-flash', contents: 'x' }),
    (e) => e.status === 429 && /RESOURCE_EXHAUSTED|exhausted/i.test(e.message),
  );
  const bad = new GoogleGenAI({ apiKey: 'bad-key', httpOptions: { baseUrl: `${SIM}/google` } });
  await assert.rejects(
    bad.models.generateContent({ model: 'gemini-2.5-flash', contents: 'x' }),
    (e) => e.status === 400 && /API key not valid/.test(e.message),
  );
});
