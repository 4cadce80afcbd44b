// Cisco's SDK as `webex` builds it (node_modules/webex/dist/webex.js): the
// core, its config and its plugins, resolved from the `webex` package itself,
// minus the meetings, calling and contact-center plugins, whose media stack
// needs a browser (`require('webex')` throws "window is not defined" in Node).
'use strict';

const { createRequire } = require('module');
const path = require('path');

const fromWebex = createRequire(require.resolve('webex/package'));

if (!global._babelPolyfill) fromWebex('@babel/polyfill');
for (const plugin of [
  '@webex/plugin-authorization',
  '@webex/internal-plugin-device',
  '@webex/internal-plugin-mercury',
  '@webex/plugin-attachment-actions',
  '@webex/plugin-logger',
  '@webex/plugin-messages',
  '@webex/plugin-memberships',
  '@webex/plugin-people',
  '@webex/plugin-rooms',
]) {
  fromWebex(plugin);
}
const merge = fromWebex('lodash/merge');
const WebexCore = fromWebex('@webex/webex-core').default;
const config = fromWebex(path.join(path.dirname(require.resolve('webex/package')), 'dist', 'config')).default;

const Webex = WebexCore.extend({ webex: true });

/** As `Webex.init` in webex/dist/webex.js. */
Webex.init = (attrs = {}) => {
  attrs.config = merge({ sdkType: 'webex' }, config, attrs.config);
  return new Webex(attrs);
};

module.exports = Webex;
