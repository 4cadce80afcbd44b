// webex-node-bot-framework (built on its own copy of Cisco's SDK, webex 2.4.2)
// in websocket mode. The framework builds its SDK config itself, so it is
// pointed at the simulator the way the SDK reads its defaults: the
// U2C_SERVICE_URL and HYDRA_SERVICE_URL environment variables.
//
// The simulator has no KMS. Webex 2.4.2 always tries to decrypt an activity's
// encrypted fields (no switch, unlike 3.x) and, finding no `encryption`
// service, leaves an unhandled rejection that would end the process; the
// framework itself carries on and reads everything over REST. Those
// rejections, and only those, are tolerated (and counted); any other fails.
'use strict';

const { nextEvent, assert, assertEqual } = require('./lib/check');
const { TOKEN } = require('./lib/sim');

const CARD = {
  type: 'AdaptiveCard',
  version: '1.3',
  body: [{ type: 'Input.Text', id: 'response' }],
  actions: [{ type: 'Action.Submit', title: 'Provide Input', data: { escalation: 'esc_framework' } }],
};

let kmsRejections = 0;

/** The SDK's failed KMS lookups are expected (see above); nothing else is. */
function tolerate(reason) {
  const missingKms = Boolean(reason && /'encryption' is not a known service/.test(reason.message));
  if (missingKms) kmsRejections += 1;
  return missingKms;
}

function steps(sim) {
  const ctx = { heard: [] };
  let framework;
  return [
    ['the framework starts: people/me, device, Mercury', async () => {
      process.env.U2C_SERVICE_URL = `${sim.base}/u2c/api/v1`;
      process.env.HYDRA_SERVICE_URL = `${sim.base}/v1`;
      process.env.WEBEX_LOG_LEVEL = process.env.SDK_LOG || 'silent';
      const Framework = require('webex-node-bot-framework');
      framework = new Framework({ token: TOKEN, messageFormat: 'markdown' });
      framework.on('log', (m) => process.env.SDK_LOG && console.log(`framework: ${m}`));
      framework.hears(/hello/i, (bot, trigger) => ctx.heard.push({ bot, trigger }));
      const initialized = nextEvent(framework, 'initialized');
      await framework.start();
      await initialized;
      assert(framework.isBotAccount, 'the framework sees a bot account (people/me type "bot")');
      assertEqual((await sim.state()).connections, 1, 'one Mercury socket');
    }],
    ['adding the bot to a space spawns a bot object (membership event)', async () => {
      ctx.ana = await sim.post('/people', { email: 'ana@example.com', displayName: 'Ana Specialist' });
      ctx.room = await sim.post('/rooms', { title: 'Framework' });
      await sim.post(`/rooms/${ctx.room.id}/members`, { personId: ctx.ana.id });
      const spawned = nextEvent(framework, 'spawn', (bot) => bot.room.id === ctx.room.id);
      await sim.post(`/rooms/${ctx.room.id}/members`, { personEmail: 'hitl-bot@webex.bot', actorId: ctx.ana.id });
      const [bot, , addedBy] = await spawned;
      assertEqual([bot.room.title, addedBy], ['Framework', ctx.ana.id], 'spawned bot and who added it');
      ctx.bot = bot;
    }],
    ['a message that mentions the bot reaches hears()', async () => {
      const heard = nextEvent(framework, 'message', (_bot, trigger) => trigger.text === 'HITL Bot hello there');
      const posted = await sim.post('/messages', {
        roomId: ctx.room.id, personId: ctx.ana.id, text: 'HITL Bot hello there', mentionedPeople: ['hitl-bot@webex.bot'],
      });
      const [, trigger] = await heard;
      assertEqual([trigger.message.id, trigger.person.emails[0]], [posted.messageId, 'ana@example.com'], 'trigger');
      assert(ctx.heard.some((h) => h.trigger.id === posted.messageId), 'hears(/hello/) ran');
    }],
    ['the bot sends a card and a submission reaches attachmentAction', async () => {
      ctx.card = await ctx.bot.sendCard(CARD, 'Specialist input needed');
      const acted = nextEvent(framework, 'attachmentAction', (_bot, trigger) => trigger.attachmentAction.messageId === ctx.card.id);
      const submitted = await sim.post('/cards/submit', { messageId: ctx.card.id, personId: ctx.ana.id, inputs: { response: 'Yes' } });
      const [, trigger] = await acted;
      assertEqual(trigger.attachmentAction.id, submitted.actionId, 'attachment action id');
      const action = await framework.webex.attachmentActions.get(trigger.attachmentAction.id);
      assertEqual(action.inputs, { escalation: 'esc_framework', response: 'Yes' }, 'inputs over REST');
      assert(!ctx.heard.some((h) => h.trigger.message.personId === ctx.bot.person.id), 'its own card is not heard');
    }],
    ['the framework stops', async () => {
      await framework.stop();
      console.log(`  (the SDK failed to reach a KMS ${kmsRejections} time(s): the simulator has none)`);
    }],
  ];
}

module.exports = { title: 'webex-node-bot-framework', steps, tolerate };
