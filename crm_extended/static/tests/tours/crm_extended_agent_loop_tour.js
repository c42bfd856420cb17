import {dialer} from "@crm_extended/js/dial_action";
import {openNextCallSteps} from "@crm_extended/../tests/tours/telesales_steps";
import {registry} from "@web/core/registry";
import {patch} from "@web/core/utils/patch";

// Names and numbers shared with crm_extended/tests/test_telesales_agent_tour.py, which
// builds the agent and the running call list in setUpClass and checks the database once
// the tour is done.
const FIRST = "Tour Agent Amber";
const FIRST_SHOWN = "+32 470 55 67 01";
const FIRST_DIALED = "tel:+32470556701";
const CONTACT = "Anna Amber";
const CONTACT_FUNCTION = "Purchasing Manager";
const LAST_NOTE = "Call back in January";
const SECOND = "Tour Agent Beryl";
const OUTCOME = "Not Interested";
const NOTE = "Happy with their current supplier";

// The softphone: the tour records the URL dialed instead of opening it
let unpatchDialer = null;

registry.category("web_tour.tours").add("crm_extended_agent_loop_tour", {
  url: "/odoo",
  steps: () => [
    // CRM > Telesales > My Call Queue: take the next call
    ...openNextCallSteps(),
    // What the agent knows before speaking, at the top of the screen
    {
      content: "The agent's screen shows the first customer",
      trigger: `.o_form_view .o_field_widget[name=partner_id]:contains(${FIRST})`,
    },
    {
      content: "Its number as people read it",
      trigger: `.o_form_view .oe_title .o_field_widget[name=phone_display]:contains(${FIRST_SHOWN})`,
    },
    {
      content: "The contact person, their job and phone",
      trigger: `.o_form_view [name=briefing_contact]:contains(${CONTACT}):contains(${CONTACT_FUNCTION}):contains(${FIRST_SHOWN})`,
    },
    {
      content: "The open opportunity, to open",
      trigger:
        ".o_form_view [name=briefing_opportunities] button[name=action_open_opportunities]:contains(1 open)",
    },
    {
      content: "The open ticket and its priority",
      trigger: ".o_form_view [name=briefing_tickets]:contains(1 open):contains(High)",
    },
    {
      content: "The last call",
      trigger: `.o_form_view [name=briefing_last_call]:contains(Call Back):contains(${LAST_NOTE})`,
    },
    // Call: one primary button, it dials
    {
      content: "Call is the one primary action",
      trigger:
        ".o_form_view .o_form_statusbar:not(:has(button[name=action_open_outcome_wizard].btn-primary)) button.btn-primary[name=action_call]",
      run(helpers) {
        unpatchDialer = patch(dialer, {
          open(url) {
            document.body.dataset.crmxDialed = url;
          },
        });
        return helpers.click();
      },
    },
    {
      content: "The number is dialed in E.164",
      trigger: `body[data-crmx-dialed="${FIRST_DIALED}"]`,
    },
    {
      content: "The call runs: Log Outcome is the primary action, Call is gone",
      trigger:
        ".o_form_view .o_form_statusbar:not(:has(button[name=action_call])) button.btn-primary[name=action_open_outcome_wizard]",
      run: "click",
    },
    // Log the outcome
    {
      content: "Choose the outcome",
      trigger: ".modal .o_field_widget[name=outcome_id] input",
      run: `edit ${OUTCOME}`,
    },
    {
      content: "Pick it in the dropdown",
      trigger: `.modal .o-autocomplete--dropdown-menu a:contains(${OUTCOME})`,
      run: "click",
    },
    {
      content: "Say what the customer said",
      trigger: ".modal .o_field_widget[name=note] textarea",
      run: `edit ${NOTE}`,
    },
    {
      content: "Log it",
      trigger: ".modal button[name=action_log]",
      run(helpers) {
        unpatchDialer();
        return helpers.click();
      },
    },
    {
      content: "The call is done",
      trigger:
        "body:not(:has(.modal)) .o_form_view .o_statusbar_status button.o_arrow_button_current:contains(Done)",
    },
    {
      content: "Its outcome is shown",
      trigger: `.o_form_view .o_field_widget[name=outcome_id]:contains(${OUTCOME})`,
    },
    // Next call: the next customer
    {
      content: "Next Call is the primary action",
      trigger: ".o_form_view .o_form_statusbar button.btn-primary[name=action_next_call]",
      run: "click",
    },
    {
      content: "The next customer is on the screen",
      trigger: `.o_form_view .o_field_widget[name=partner_id]:contains(${SECOND})`,
    },
    {
      content: "Its call is to place",
      trigger: ".o_form_view .o_form_statusbar button.btn-primary[name=action_call]",
    },
  ],
});
