import {openNextCallSteps} from "@crm_extended/../tests/tours/telesales_steps";
import {registry} from "@web/core/registry";
import {stepUtils} from "@web_tour/tour_service/tour_utils";

// Names shared with crm_extended/tests/test_telesales_tour.py, which builds the running
// call list in setUp and checks the database once the tour is done.
const CUSTOMER = "Tour Telesales Garnet";
const PRODUCT = "Tour Telesales Headset";
const PHONE = "+32 470 55 66 00";
// The product's price, as the quotation line shows it
const PRICE = "25.00";
const LINE = ".o_field_widget[name=order_line] .o_data_row";

registry.category("web_tour.tours").add("crm_extended_telesales_tour", {
  url: "/odoo",
  steps: () => [
    // CRM > Telesales > My Call Queue: take the next call
    ...openNextCallSteps(),
    {
      content: "The agent's screen shows the customer to call",
      trigger: `.o_form_view .o_field_widget[name=partner_id]:contains(${CUSTOMER})`,
    },
    {
      content: "The number reads as people read it",
      trigger: `.o_form_view .o_field_widget[name=phone_display]:contains(${PHONE})`,
    },
    // Take the order: the quotation of the customer opens
    {
      content: "Take the order",
      trigger: ".o_form_view .o_form_statusbar button[name=action_take_order]",
      run: "click",
    },
    {
      content: "The quotation of the customer opens",
      trigger: `.o_form_view .o_field_widget[name=partner_id] input:value(${CUSTOMER})`,
    },
    {
      content: "Add a product line",
      trigger: ".o_field_widget[name=order_line] .o_field_x2many_list_row_add a",
      run: "click",
    },
    {
      content: "Choose the product",
      trigger: ".o_field_widget[name=order_line] div[name=product_template_id] input",
      run: `edit ${PRODUCT}`,
    },
    {
      content: "Pick it in the dropdown",
      trigger: `ul.ui-autocomplete a:contains(${PRODUCT})`,
      run: "click",
    },
    {
      // Picking the product sets the line's product template; the web client then
      // asks the server for its variant, sets it and reads its price: the line is
      // complete (and can be saved) once its price shows. The row may still be in
      // edit mode (its values are then inputs' values).
      content: "The line has the product and its price",
      trigger: [
        `${LINE}:contains(${PRODUCT}):has([name=price_unit]:contains(${PRICE}))`,
        `${LINE}:has(input:value(${PRODUCT})):has([name=price_unit] input:value(${PRICE}))`,
      ].join(", "),
    },
    {
      // Out of the line, on nothing that reacts to a click (a many2one would open
      // its dropdown and search)
      content: "Leave the line",
      trigger: ".o_form_view .oe_title",
      run: "click",
    },
    ...stepUtils.saveForm(),
    // Back on the agent's screen: confirm the order
    {
      content: "Back to the call",
      trigger: `.o_breadcrumb .breadcrumb-item a:contains(${CUSTOMER})`,
      run: "click",
    },
    {
      content: "Confirm the order",
      trigger: ".o_form_view .o_form_statusbar button[name=action_confirm_order]",
      run: "click",
    },
    {
      content: "The call is done",
      trigger:
        ".o_form_view .o_statusbar_status button.o_arrow_button_current:contains(Done)",
    },
    {
      content: "Its outcome is the order taken",
      trigger: ".o_form_view .o_field_widget[name=outcome_id]:contains(Order Taken)",
    },
  ],
});
