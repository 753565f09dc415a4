/**
 * Control-plane use cases of the sending side, one file per use-case family: forwards
 * (creator, reason, expiry), send-as grants, outbound routes (smarthosts per domain, per tenant,
 * global), DKIM key rotation, and the send limits and automatic send block of a mailbox. Every
 * change is audited in its transaction. The routes import them from here.
 */
export { type ForwardInput, type ForwardView, createForward, deleteForward, forwardView, insertForward, listForwards, removeForward } from './forwards.service.js';
export { type SendAsView, grantSendAs, listSendAs, revokeSendAs } from './send-as.service.js';
export { type RouteInput, type RouteScope, type RouteView, deleteRoute, getRoute, putRoute } from './routes.service.js';
export { type DkimKeyView, activateDkimKey, listDkimKeys, retireDkimKey, rotateDkim } from './dkim-keys.service.js';
export { type SendingStateView, getSendingState, liftSendBlock, setSendLimits } from './send-limits.service.js';
