import {browser} from "@web/core/browser/browser";
import {_t} from "@web/core/l10n/translation";
import {registry} from "@web/core/registry";

/**
 * The URLs a dialer may open: a number for the softphone (tel:, sip:, callto:), never
 * a web page or a javascript: URL. The same rule as the server's
 * crm.call.list.entry._dial_client_action.
 */
const DIAL_URL_RE = /^(?:tel|sip|callto):\S+$/i;

export function isDialUrl(url) {
  return typeof url === "string" && DIAL_URL_RE.test(url);
}

/**
 * Hands a telephony URL to the computer's softphone (or the phone paired with it): the
 * browser opens the tel:, sip: or callto: URL, the page stays. One object, so that a
 * test can see what is dialed without opening a softphone.
 */
export const dialer = {
  open(url) {
    browser.location.assign(url);
  },
};

/**
 * Dials a call list entry: opens the dialer provider's telephony URL as is (a tel: URL
 * is handed to the softphone; the web client's act_url would take it for a path of the
 * server), then runs the next action: the entry being called, reloaded with its call
 * running, or the next entry's form in auto-dial mode. Any other URL is not opened: the
 * user is told.
 */
export function crmExtendedDialAction(env, action) {
  const params = action.params || {};
  if (params.url) {
    if (isDialUrl(params.url)) {
      dialer.open(params.url);
    } else {
      env.services.notification.add(
        _t("This link cannot be dialed: only tel:, sip: and callto: numbers are."),
        {type: "danger"}
      );
    }
  }
  return params.next;
}

registry.category("actions").add("crm_extended_dial", crmExtendedDialAction);
