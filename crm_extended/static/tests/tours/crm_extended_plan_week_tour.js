import {registry} from "@web/core/registry";
import {stepUtils} from "@web_tour/tour_service/tour_utils";

// Names shared with crm_extended/tests/test_plan_week_tour.py, which makes both customers
// overdue in setUpClass and checks the database once the tour is done.
const CUSTOMER = "Tour Overdue Quartz";
const OTHER = "Tour Overdue Onyx";
const OUTCOME = "Met the buyer, quotation next week";

registry.category("web_tour.tours").add("crm_extended_plan_week_tour", {
    url: "/odoo",
    steps: () => [
        // CRM > Sales > Plan My Week: propose the customers due, book them
        ...stepUtils.goToAppSteps("crm.crm_menu_root", "Open the CRM app"),
        {
            content: "Open the Sales menu",
            trigger: 'button[data-menu-xmlid="crm.crm_menu_sales"]',
            run: "click",
        },
        {
            content: "Open Plan My Week",
            trigger: 'a[data-menu-xmlid="crm_extended.crm_plan_week_wizard_menu"]',
            run: "click",
        },
        {
            content: "Propose the customers whose contact is due",
            trigger: ".modal button[name=action_propose]",
            run: "click",
        },
        {
            content: "The overdue customer is proposed",
            trigger: `.modal .o_field_widget[name=line_ids] .o_data_row:contains(${CUSTOMER})`,
        },
        {
            content: "Book the proposals",
            trigger: ".modal button[name=action_confirm]",
            run: "click",
        },
        // My Week: open the visit and mark it done with its outcome
        {
            content: "My Week opens on the calendar",
            trigger: ".o_action_manager .o_calendar_view",
        },
        {
            content: "Show My Week as a list",
            trigger: ".o_control_panel .o_switch_view.o_list",
            run: "click",
        },
        {
            content: "Open the visit of the customer",
            trigger: `.o_list_view .o_data_row td:contains(${CUSTOMER})`,
            run: "click",
        },
        {
            content: "Mark the visit done",
            trigger: ".o_form_view .o_form_statusbar button[name=action_open_sfa_done_wizard]",
            run: "click",
        },
        {
            content: "Say the outcome",
            trigger: ".modal .o_field_widget[name=outcome] textarea",
            run: `edit ${OUTCOME}`,
        },
        {
            content: "Confirm",
            trigger: ".modal button[name=action_done]",
            run: "click",
        },
        {
            content: "The visit is done",
            trigger: ".o_form_view .o_statusbar_status button.o_arrow_button_current:contains(Done)",
        },
        // Contacts: the customer left the overdue contacts, the other one is still there
        ...stepUtils.goToAppSteps("contacts.menu_contacts", "Open the Contacts app"),
        {
            content: "Open the search options",
            trigger: ".o_searchview_dropdown_toggler",
            run: "click",
        },
        {
            content: "Filter the overdue contacts",
            trigger: ".o_filter_menu .o-dropdown-item:contains(Overdue contacts)",
            run: "click",
        },
        {
            content: "The customer not yet visited is still overdue",
            trigger: `.o_kanban_record:contains(${OTHER})`,
        },
        {
            content: "The visited customer is no longer overdue",
            trigger: `.o_kanban_renderer:not(:has(.o_kanban_record:contains(${CUSTOMER})))`,
        },
    ],
});
