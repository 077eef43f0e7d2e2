/**
 * End-to-end tests run an extension inside a real VS Code: code-server (VS Code's workbench and Node extension
 * host, served over HTTP) driven through Chromium with playwright-core. The harness in parts:
 *   codeServer.ts   the code-server binary, a VSIX install, the test profile, start and stop
 *   processes.ts    process trees and groups from /proc (nothing left behind)
 *   workbench.ts    Chromium on the workbench: trust dialog, Restricted Mode, webview frames, notifications
 *   commandKeys.ts  commands by key chords from the profile's keybindings.json, each checked for its effect
 *   palette.ts      the command palette as a person uses it
 *   screenshots.ts  screenshots, and steps that leave one when they fail
 * This file re-exports them for the suites.
 */
export * from './browserLog';
export * from './codeServer';
export * from './commandKeys';
export * from './palette';
export * from './processes';
export * from './screenshots';
export * from './wait';
export * from './workbench';
