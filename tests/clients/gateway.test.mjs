// Conduix as a customer sees it: the official `openai` SDK against
// /v1/chat/completions and the official `@anthropic-ai/sdk` against /v1/messages,
// through httpd, every provider family behind them (simulated).
//
// Env: CX_GATEWAY_URL, CX_SIM_URL, CX_KEY (a funded live key), CX_BROKE_KEY (a key
// whose organization has no credits). Run through tests/clients/run_clients.py.
import { test, beforeEach } from 'node:test';
import assert from 'node:assert/strict';
import OpenAI from 'openai';
import Anthropic from '@anthropic-ai/sdk';

const GW = process.env.CX_GATEWAY_URL;
const SIM = process.env.CX_SIM_URL;
const KEY = process.env.CX_KEY;
const BROKE = process.env.CX_BROKE_KEY;
assert.ok(GW && SIM && KEY && BROKE, 'CX_GATEWAY_URL, CX_SIM_URL, CX_KEY and CX_BROKE_KEY must be set');

async function sim(method, path, body) {
  const r = await fetch(SIM + path, {
    method,
    headers: { 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  assert.equal(r.status, 200);
  return r.json();
}
const fault = (spec) => sim('POST', '/_sim/faults', spec);
const upstreamCount = async (provider) => (await sim('GET', `/_sim/requests?provider=${provider}`)).count;
beforeEach(() => sim('POST', '/_sim/reset'));

const openai = new OpenAI({ apiKey: KEY, baseURL: `${GW}/v1`, maxRetries: 0 });
const anthropic = new Anthropic({ apiKey: KEY, baseURL: GW, maxRetries: 0 });

const FAMILIES = [
  { model: 'gpt-4o-mini', provider: 'openai', upstream: 'gpt-4o-mini' },
  { model: 'claude-haiku-4-5', provider: 'anthropic', upstream: 'claude-haiku-4-5-20251001' },
  { model: 'gemini-2.5-flash', provider: 'google', upstream: 'gemini-2.5-flash' },
];
const TOOLS = [{
  type: 'function',
  function: {
    name: 'get_weather',
    description: 'Current weather',
    parameters: { type: 'object', properties: { location: { type: 'string' } }, required: ['location'] },
  },
}];
const reply = (f, said) => `Hello from ${f.provider}/${f.upstream}. You said: ${said}`;

// --- openai SDK -> /v1/chat/completions ------------------------------------------------

for (const f of FAMILIES) {
  test(`openai sdk: ${f.model} answers through ${f.provider}, headers via withResponse()`, async () => {
    const { data, response } = await openai.chat.completions
      .create({ model: f.model, messages: [{ role: 'user', content: 'hello gateway' }] })
      .withResponse();
    assert.equal(data.object, 'chat.completion');
    assert.equal(data.model, f.model);
    assert.equal(data.choices[0].message.content, reply(f, 'hello gateway'));
    assert.equal(data.choices[0].finish_reason, 'stop');
    assert.equal(data.usage.prompt_tokens, 2 + 3);
    assert.equal(data.usage.total_tokens, data.usage.prompt_tokens + data.usage.completion_tokens);
    assert.match(response.headers.get('x-conduix-request-id'), /^cx-req-[0-9a-f]{24}$/);
    assert.equal(response.headers.get('x-conduix-provider'), f.provider);
    assert.equal(response.headers.get('x-conduix-fallback'), 'false');
    assert.match(response.headers.get('x-conduix-cost-credits'), /^[0-9]+(\.[0-9]+)?$/);
    assert.match(response.headers.get('x-conduix-latency-ms'), /^[0-9]+$/);
  });

  test(`openai sdk: ${f.model} streams with usage`, async () => {
    const stream = await openai.chat.completions.create({
      model: f.model,
      messages: [{ role: 'user', content: 'stream please' }],
      stream: true,
      stream_options: { include_usage: true },
    });
    let text = '';
    let usage;
    const finishes = [];
    for await (const chunk of stream) {
      assert.equal(chunk.model, f.model);
      if (chunk.usage) usage = chunk.usage;
      const c = chunk.choices[0];
      if (!c) continue;
      text += c.delta?.content ?? '';
      if (c.finish_reason) finishes.push(c.finish_reason);
    }
    assert.equal(text, reply(f, 'stream please'));
    assert.deepEqual(finishes, ['stop']);
    assert.equal(usage.completion_tokens, text.split(' ').length);
  });

  test(`openai sdk: ${f.model} tool calls, plain and streamed`, async () => {
    const params = { model: f.model, messages: [{ role: 'user', content: 'What is the weather?' }], tools: TOOLS };
    const done = await openai.chat.completions.create(params);
    const call = done.choices[0].message.tool_calls[0];
    assert.equal(done.choices[0].finish_reason, 'tool_calls');
    assert.equal(call.function.name, 'get_weather');
    assert.deepEqual(JSON.parse(call.function.arguments), { location: 'Paris' });
    // the SDK's stream helper assembles streamed argument fragments
    const final = await openai.chat.completions.stream(params).finalChatCompletion();
    const scall = final.choices[0].message.tool_calls[0];
    assert.equal(final.choices[0].finish_reason, 'tool_calls');
    assert.equal(scall.function.name, 'get_weather');
    assert.deepEqual(JSON.parse(scall.function.arguments), { location: 'Paris' });
    // and the tool's answer goes back
    const next = await openai.chat.completions.create({
      ...params,
      messages: [...params.messages, done.choices[0].message,
        { role: 'tool', tool_call_id: call.id, content: '{"temp_c":18}' }],
    });
    assert.equal(next.choices[0].finish_reason, 'stop');
    assert.match(next.choices[0].message.content, new RegExp(`^Hello from ${f.provider}/`));
  });
}

test('openai sdk: provider pinning reaches only the pinned provider', async () => {
  const { data, response } = await openai.chat.completions
    .create({ model: 'together/llama-4-maverick', messages: [{ role: 'user', content: 'pinned' }] })
    .withResponse();
  assert.equal(data.model, 'together/llama-4-maverick');
  assert.equal(response.headers.get('x-conduix-provider'), 'together');
  assert.equal(await upstreamCount('together'), 1);
  assert.equal(await upstreamCount('groq'), 0);
});

test('openai sdk: a fallback is visible in the headers', async () => {
  await fault({ provider: 'openai', status: 503 });
  const { data, response } = await openai.chat.completions
    .create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'hi' }] })
    .withResponse();
  assert.equal(data.model, 'gpt-4o-mini');
  assert.equal(response.headers.get('x-conduix-fallback'), 'true');
  assert.equal(response.headers.get('x-conduix-provider'), 'anthropic');
});

test('openai sdk: error classes', async () => {
  const bad = new OpenAI({ apiKey: 'cx_live_' + 'A1b2C3d4E5'.repeat(4), baseURL: `${GW}/v1`, maxRetries: 0 });
  await assert.rejects(bad.chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'x' }] }),
    (e) => e instanceof OpenAI.AuthenticationError && e.status === 401 && e.code === 'invalid_api_key');
  await assert.rejects(openai.chat.completions.create({ model: 'no-such-model', messages: [{ role: 'user', content: 'x' }] }),
    (e) => e instanceof OpenAI.NotFoundError && e.code === 'model_not_found' && e.param === 'model');
  await assert.rejects(openai.chat.completions.create({ model: 'gpt-4o-mini' }),
    (e) => e instanceof OpenAI.BadRequestError && e.param === 'messages');
  await assert.rejects(openai.chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'x' }], temperature: 'hot' }),
    (e) => e instanceof OpenAI.BadRequestError && e.param === 'temperature');
  const broke = new OpenAI({ apiKey: BROKE, baseURL: `${GW}/v1`, maxRetries: 0 });
  await assert.rejects(broke.chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'x' }] }),
    (e) => e instanceof OpenAI.APIError && e.status === 402 && e.code === 'insufficient_credits' && e.type === 'insufficient_quota');
  await fault({ provider: '*', status: 503, count: 10 });
  await assert.rejects(openai.chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'x' }] }),
    (e) => e instanceof OpenAI.InternalServerError && e.status === 503 && e.code === 'provider_unavailable');
  assert.equal(await upstreamCount('openai'), 1);
});

test('openai sdk: a stream cut mid-way raises instead of ending cleanly', async () => {
  await fault({ provider: 'anthropic', cut_after_chunks: 4 });
  const stream = await openai.chat.completions.create({
    model: 'claude-haiku-4-5', messages: [{ role: 'user', content: 'one two three four five six' }], stream: true,
  });
  await assert.rejects((async () => { for await (const _ of stream) { /* drain */ } })(), OpenAI.APIError);
});

// --- @anthropic-ai/sdk -> /v1/messages ------------------------------------------------

for (const f of FAMILIES) {
  test(`anthropic sdk: messages.create served by ${f.provider}`, async () => {
    const { data, response } = await anthropic.messages
      .create({ model: f.model, max_tokens: 64, system: 'Be terse.', messages: [{ role: 'user', content: 'hello messages' }] })
      .withResponse();
    assert.equal(data.type, 'message');
    assert.equal(data.model, f.model);
    assert.equal(data.stop_reason, 'end_turn');
    assert.deepEqual(data.content, [{ type: 'text', text: reply(f, 'hello messages') }]);
    assert.equal(data.usage.input_tokens, 2 + 2 + 6);
    assert.equal(data.usage.output_tokens, reply(f, 'hello messages').split(' ').length);
    assert.equal(response.headers.get('x-conduix-provider'), f.provider);
    assert.match(response.headers.get('x-conduix-request-id'), /^cx-req-/);
  });
}

test('anthropic sdk: messages.stream text and final message', async () => {
  const stream = anthropic.messages.stream({
    model: 'claude-haiku-4-5', max_tokens: 64, messages: [{ role: 'user', content: 'stream through conduix' }],
  });
  let text = '';
  stream.on('text', (t) => { text += t; });
  const final = await stream.finalMessage();
  assert.equal(text, reply(FAMILIES[1], 'stream through conduix'));
  assert.equal(final.content[0].text, text);
  assert.equal(final.stop_reason, 'end_turn');
  assert.equal(final.usage.output_tokens, text.split(' ').length);
});

test('anthropic sdk: tool use through /v1/messages, streamed, then the tool result', async () => {
  const tools = [{ name: 'get_weather', input_schema: TOOLS[0].function.parameters }];
  const params = { model: 'gemini-2.5-flash', max_tokens: 64, tools, messages: [{ role: 'user', content: 'weather?' }] };
  const final = await anthropic.messages.stream(params).finalMessage();
  assert.equal(final.stop_reason, 'tool_use');
  const use = final.content.find((b) => b.type === 'tool_use');
  assert.equal(use.name, 'get_weather');
  assert.deepEqual(use.input, { location: 'Paris' });
  const next = await anthropic.messages.create({
    ...params,
    messages: [...params.messages, { role: 'assistant', content: final.content },
      { role: 'user', content: [{ type: 'tool_result', tool_use_id: use.id, content: 'sunny' }] }],
  });
  assert.equal(next.stop_reason, 'end_turn');
});

test('anthropic sdk: error classes', async () => {
  const bad = new Anthropic({ apiKey: 'cx_live_' + 'A1b2C3d4E5'.repeat(4), baseURL: GW, maxRetries: 0 });
  const body = { model: 'claude-haiku-4-5', max_tokens: 8, messages: [{ role: 'user', content: 'x' }] };
  await assert.rejects(bad.messages.create(body), Anthropic.AuthenticationError);
  await assert.rejects(anthropic.messages.create({ ...body, model: 'no-such-model' }),
    (e) => e instanceof Anthropic.NotFoundError && e.error.error.type === 'not_found_error');
  await assert.rejects(anthropic.messages.create({ model: 'claude-haiku-4-5', messages: body.messages }),
    (e) => e instanceof Anthropic.BadRequestError && /max_tokens/.test(e.message));
  const broke = new Anthropic({ apiKey: BROKE, baseURL: GW, maxRetries: 0 });
  await assert.rejects(broke.messages.create(body), (e) => e instanceof Anthropic.APIError && e.status === 402);
  assert.equal(await upstreamCount('anthropic'), 0);
});
