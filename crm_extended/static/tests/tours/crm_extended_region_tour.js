import {registry} from "@web/core/registry";
import {stepUtils} from "@web_tour/tour_service/tour_utils";

// Names shared with crm_extended/tests/test_region_tour.py, which creates the state and the
// customer in setUpClass and checks the region in the database once the tour is done.
const REGION_NAME = "Tour Region Quartz";
const REGION_CODE = "TRQ";
const STATE_NAME = "Tour State Quartz";
const CUSTOMER_NAME = "Tour Customer Quartz";

registry.category("web_tour.tours").add("crm_extended_region_tour", {
    url: "/odoo",
    steps: () => [
        // CRM > Configuration > Sales Regions
        ...stepUtils.goToAppSteps("crm.crm_menu_root", "Open the CRM app"),
        {
            content: "Open the Configuration menu",
            trigger: 'button[data-menu-xmlid="crm.crm_menu_config"]',
            run: "click",
        },
        {
            content: "Open the Sales Regions",
            trigger: 'a[data-menu-xmlid="crm_extended.crm_sales_region_menu_crm"]',
            run: "click",
        },
        {
            content: "Create a region from the list",
            trigger: ".o_list_view .o_list_button_add",
            run: "click",
        },
        // The region: name, code and a state of the Area page
        {
            content: "Name the region",
            trigger: ".o_form_editable .o_field_widget[name=name] input",
            run: `edit ${REGION_NAME}`,
        },
        {
            content: "Give the region a code",
            trigger: ".o_form_editable .o_field_widget[name=code] input",
            run: `edit ${REGION_CODE}`,
        },
        {
            content: "Open the Area page",
            trigger: ".o_notebook_headers a.nav-link[name=area]",
            run: "click",
        },
        {
            content: "Search the state",
            trigger: ".o_field_widget[name=state_ids] input",
            run: `edit ${STATE_NAME}`,
        },
        {
            content: "Pick the state",
            trigger: `.o_field_widget[name=state_ids] .o-autocomplete--dropdown-item > a:contains(${STATE_NAME})`,
            run: "click",
        },
        {
            content: "The state is a tag of the region",
            trigger: `.o_field_widget[name=state_ids] .o_tag:contains(${STATE_NAME})`,
        },
        ...stepUtils.saveForm(),
        {
            content: "The region is saved with its state",
            trigger: `.o_form_saved .o_field_widget[name=state_ids] .o_tag:contains(${STATE_NAME})`,
        },
        // The customer of that state now belongs to the region
        ...stepUtils.goToAppSteps("contacts.menu_contacts", "Open the Contacts app"),
        {
            content: "Search the customer",
            trigger: ".o_searchview_input",
            run: `edit ${CUSTOMER_NAME}`,
        },
        {
            content: "Wait for the search suggestions",
            trigger: ".o_searchview_autocomplete",
        },
        {
            content: "Apply the search",
            trigger: ".o_searchview_input",
            run: "press Enter",
        },
        {
            content: "Open the customer",
            trigger: `.o_kanban_record:contains(${CUSTOMER_NAME})`,
            run: "click",
        },
        {
            content: "The customer's form is open",
            trigger: `.o_form_view .o_field_widget[name=name] input:value(${CUSTOMER_NAME})`,
        },
        {
            content: "Open the Sales & Purchase page",
            trigger: ".o_notebook_headers a.nav-link[name=sales_purchases]",
            run: "click",
        },
        {
            content: "The customer belongs to the new region",
            trigger: `.o_field_widget[name=sales_region_id] input:value(${REGION_NAME})`,
        },
    ],
});
