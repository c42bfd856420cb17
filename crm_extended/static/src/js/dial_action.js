import {browser} from "@web/core/browser/browser";
import {registry} from "@web/core/registry";

/**
 * Dials a call list entry: opens the dialer provider's URL as is (a tel: URL is handed
 * to the softphone; the web client's act_url would take it for a path of the server),
 * then runs the next action, e.g. the form of the entry being called.
 */
export function crmExtendedDialAction(env, action) {
  const params = action.params || {};
  if (params.url) {
    browser.location.assign(params.url);
  }
  return params.next;
}

registry.category("actions").add("crm_extended_dial", crmExtendedDialAction);
