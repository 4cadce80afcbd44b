// Cisco's SDK (npm `webex`) as a bot would run it, pointed at the simulator by
// configuration only: `services.discovery.u2c` and `.hydra` name the
// simulator; U2C hands out everything else (WDM, the conversation hosts).
// The simulator has no KMS, so the SDK runs as a bot without keys does (the
// daemon among them): `conversation.includeDecryptionTransforms: false` leaves
// the encrypted activity fields alone, and plaintext comes over REST.
'use strict';

const Webex = require('./lib/sdk');
const { eventually, nextEvent, assert, assertEqual } = require('./lib/check');
const { TOKEN, OTHER_ORG_UUID } = require('./lib/sim');

function card(version) {
  return {
    contentType: 'application/vnd.microsoft.card.adaptive',
    content: {
      type: 'AdaptiveCard',
      version: '1.3',
      body: [{ type: 'TextBlock', text: `Conformance card ${version}` }, { type: 'Input.Text', id: 'response' }],
      actions: [{ type: 'Action.Submit', title: 'Provide Input', data: { escalation: 'esc_conformance' } }],
    },
  };
}

function decodeId(id) {
  return Buffer.from(id, 'base64url').toString('utf8');
}

function steps(sim) {
  const ctx = { created: [] };
  let webex;
  const waitCreated = (accept) => nextEvent(webex.messages, 'created', (e) => accept(e.data)).then((e) => e.data);
  return [
    ['the SDK starts and collects its catalogs from U2C', async () => {
      webex = Webex.init({
        config: {
          services: { discovery: { u2c: `${sim.base}/u2c/api/v1`, hydra: `${sim.base}/v1` } },
          conversation: { includeDecryptionTransforms: false },
          logger: { level: process.env.SDK_LOG || 'silent' },
        },
        credentials: { access_token: TOKEN },
      });
      await new Promise((resolve) => (webex.ready ? resolve() : webex.once('ready', resolve)));
      await webex.internal.services.waitForCatalog('postauth', 10);
      assertEqual(webex.internal.services.get('wdm'), `${sim.base}/wdm/api/v1`, 'WDM from the catalog');
      ctx.me = await webex.people.get('me');
      assertEqual(ctx.me.type, 'bot', 'people/me type');
    }],
    ['device registration (WDM)', async () => {
      await webex.internal.device.register();
      const device = webex.internal.device;
      assert(device.url.startsWith(`${sim.base}/wdm/api/v1/devices/`), `device url ${device.url}`);
      assert(/\/registrations\/[^/]+\/messages$/.test(device.webSocketUrl), `webSocketUrl ${device.webSocketUrl}`);
      assertEqual((await sim.state()).devices, 1, 'devices at WDM');
    }],
    ['Mercury connect and authorization', async () => {
      await webex.internal.mercury.connect();
      assert(webex.internal.mercury.connected, 'mercury.connected');
      await eventually('the simulator counts the socket', async () => (await sim.state()).connections === 1);
      await Promise.all([webex.messages.listen(), webex.memberships.listen(), webex.attachmentActions.listen()]);
      webex.messages.on('created', (e) => ctx.created.push(e.data));
    }],
    ['membership event: the bot and a specialist are added to a space', async () => {
      ctx.ana = await sim.post('/people', { email: 'ana@example.com', displayName: 'Ana Specialist' });
      ctx.room = await sim.post('/rooms', { title: 'Conformance' });
      const botAdded = nextEvent(webex.memberships, 'created', (e) => e.data.personId === ctx.me.id);
      await sim.post(`/rooms/${ctx.room.id}/members`, { personEmail: ctx.me.emails[0] });
      const bot = await botAdded;
      assertEqual(bot.data.roomId, ctx.room.id, 'membership roomId built from the catalog cluster');
      const anaAdded = nextEvent(webex.memberships, 'created', (e) => e.data.personId === ctx.ana.id);
      await sim.post(`/rooms/${ctx.room.id}/members`, { personId: ctx.ana.id });
      const ana = await anaAdded;
      assertEqual(ana.data.personEmail, 'ana@example.com', 'membership personEmail');
      const membership = await webex.memberships.get(ana.data.id);
      assertEqual(membership.personId, ctx.ana.id, 'GET /memberships/{id} of the event id');
    }],
    ['a message that mentions the bot reaches messages:created (one that does not stays unreadable)', async () => {
      const chatter = await sim.post('/messages', { roomId: ctx.room.id, personId: ctx.ana.id, text: 'lunch?' });
      ctx.chatter = chatter.messageId;
      const created = waitCreated((m) => m.text === 'HITL Bot hello');
      const posted = await sim.post('/messages', {
        roomId: ctx.room.id, personId: ctx.ana.id, text: 'HITL Bot hello', mentionedPeople: [ctx.me.id],
      });
      const message = await created;
      assertEqual(message.id, posted.messageId, 'the REST id the SDK built from the activity id');
      assertEqual(message.mentionedPeople, [ctx.me.id], 'mentionedPeople');
      const unreadable = await webex.messages.get(ctx.chatter).then(() => 'read', (e) => e.statusCode);
      assertEqual(unreadable, 404, 'a group message without a mention, read by a bot');
      const listed = await webex.messages.list({ roomId: ctx.room.id, mentionedPeople: 'me' });
      assertEqual(listed.items.map((m) => m.id), [posted.messageId], 'GET /messages?mentionedPeople=me');
    }],
    ['the bot posts a card', async () => {
      const own = waitCreated((m) => m.personId === ctx.me.id && m.attachments);
      ctx.card = await webex.messages.create({ roomId: ctx.room.id, text: 'Specialist input needed', attachments: [card(1)] });
      assertEqual(ctx.card.attachments[0].content.version, '1.3', 'card answer');
      assertEqual((await own).id, ctx.card.id, 'the bot hears (and may read) its own card');
    }],
    ['a card submission reaches attachmentActions:created', async () => {
      const created = nextEvent(webex.attachmentActions, 'created', (e) => e.data.messageId === ctx.card.id);
      const submitted = await sim.post('/cards/submit', {
        messageId: ctx.card.id, personId: ctx.ana.id, inputs: { response: 'Approve' },
      });
      const event = await created;
      assertEqual(event.data.id, submitted.actionId, 'attachment action id');
      assertEqual(event.data.personId, ctx.ana.id, 'who pressed');
      const action = await webex.attachmentActions.get(event.data.id);
      assertEqual(action.inputs, { escalation: 'esc_conformance', response: 'Approve' }, 'inputs over REST');
    }],
    ['the bot edits its card in place', async () => {
      const edited = await webex.messages.update(ctx.card, { roomId: ctx.room.id, text: 'Answered by Ana', attachments: [card(2)] });
      assertEqual(edited.text, 'Answered by Ana', 'edited text');
      const stored = (await sim.get(`/rooms/${ctx.room.id}/messages`)).find((m) => m.id === ctx.card.id);
      assertEqual(stored.edits, 1, 'edits');
      assertEqual(stored.card.body[0].text, 'Conformance card 2', 'new card content');
    }],
    ['a DM by email, and the answer in it reaches messages:created', async () => {
      const dm = await webex.messages.create({ toPersonEmail: 'ana@example.com', markdown: '**Hello** Ana' });
      assertEqual([dm.roomType, dm.toPersonEmail, dm.toPersonId, dm.text], ['direct', 'ana@example.com', ctx.ana.id, 'Hello Ana'], 'DM answer');
      const created = waitCreated((m) => m.text === 'hi bot');
      const reply = await sim.post('/messages', { roomId: dm.roomId, personId: ctx.ana.id, text: 'hi bot' });
      assertEqual((await created).id, reply.messageId, 'a DM needs no mention');
    }],
    ['a DM by email to someone in another org', async () => {
      const bo = await sim.post('/people', { email: 'bo@partner.example', displayName: 'Bo Partner', orgId: OTHER_ORG_UUID });
      const lookup = await webex.people.list({ email: 'bo@partner.example' });
      assertEqual(lookup.items.length, 0, 'GET /people?email= outside the bot org');
      const dm = await webex.messages.create({ toPersonEmail: 'bo@partner.example', text: 'hello from another org' });
      assertEqual(dm.toPersonId, bo.id, 'the answer names the recipient');
      const person = await webex.people.get(dm.toPersonId);
      assert(person.orgId !== ctx.me.orgId, `GET /people/{id} works across orgs (${person.orgId})`);
    }],
    ['a migrated room: the SDK derives its new cluster from the catalog', async () => {
      const moved = await sim.post(`/rooms/${ctx.room.id}/migrate`);
      assert(decodeId(moved.id).startsWith('ciscospark://urn:TEAM:eu-central-1_k/ROOM/'), `new id ${decodeId(moved.id)}`);
      const created = waitCreated((m) => m.text === 'HITL Bot after the move');
      const posted = await sim.post('/messages', {
        roomId: moved.id, personId: ctx.ana.id, text: 'HITL Bot after the move', mentionedPeople: [ctx.me.id],
      });
      const message = await created;
      assertEqual([message.id, message.roomId], [posted.messageId, moved.id], 'ids in the new cluster');
    }],
    ['frames a bot ignores (typing, KMS, registration status, binary) do not break the socket', async () => {
      for (const eventType of ['status.start_typing', 'encryption.kms_message', 'mercury.registration_status']) {
        await sim.post('/faults/inject', { eventType });
      }
      await sim.post('/faults/inject', { binary: true });
      const created = waitCreated((m) => m.text === 'still there?');
      const dmRoom = ctx.created.find((m) => m.text === 'hi bot').roomId;
      await sim.post('/messages', { roomId: dmRoom, personId: ctx.ana.id, text: 'still there?' });
      await created;
      assert(webex.internal.mercury.connected, 'still connected');
      const state = await sim.state();
      assert(state.acks_unmatched > 0 && state.acks_matched > 0, `acks counted apart: ${JSON.stringify(state)}`);
      assert(!ctx.created.some((m) => m.id === ctx.chatter), 'the unreadable message never surfaced');
    }],
    ['disconnect', async () => {
      await webex.internal.mercury.disconnect();
      await webex.internal.device.unregister();
      assertEqual((await sim.state()).devices, 0, 'device deleted');
    }],
  ];
}

module.exports = { title: 'webex SDK (npm webex)', steps };
