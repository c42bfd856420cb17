import {stepUtils} from "@web_tour/tour_service/tour_utils";

/**
 * The steps every telesales tour starts with: CRM > Telesales > My Call Queue, then
 * "Next Call" from the queue's list, which opens the next due entry.
 */
export function openNextCallSteps() {
  return [
    ...stepUtils.goToAppSteps("crm.crm_menu_root", "Open the CRM app"),
    {
      content: "Open the Telesales menu",
      trigger: 'button[data-menu-xmlid="crm_extended.crm_call_list_menu_root"]',
      run: "click",
    },
    {
      content: "Open My Call Queue",
      trigger: 'a[data-menu-xmlid="crm_extended.crm_call_list_entry_menu_my_queue"]',
      run: "click",
    },
    {
      content: "Take the next call",
      trigger: ".o_list_view button[name=action_next_call]",
      run: "click",
    },
  ];
}
