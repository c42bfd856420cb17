import {registry} from "@web/core/registry";

// Names shared with crm_extended/tests/test_forecast_tour.py, which builds the forecast
// in setUpClass, opens its form and checks the adjustment and the state once the tour
// is done.
const REGION_NAME = "Tour Onyx";
const OFFICE_NAME = "Onyx Office";
const SELLER_NAME = "Olga Onyx";
const ADJUSTED = 12500;
const NOTE = "Onyx signs the framework contract this month";

registry.category("web_tour.tours").add("crm_extended_forecast_tour", {
  steps: () => [
    {
      content: "The forecast opens on its rollup, the company first",
      trigger: ".o_crm_forecast_grid tr.o_crm_forecast_grid_company",
    },
    {
      content: "The region is there, not yet expanded",
      trigger: `.o_crm_forecast_grid tr[data-name='${REGION_NAME}'] .o_crm_forecast_grid_toggle[aria-expanded=false]`,
    },
    {
      content: "Its office is hidden",
      trigger: `.o_crm_forecast_grid:not(:has(tr[data-name='${OFFICE_NAME}']))`,
    },
    {
      content: "Expand the region",
      trigger: `.o_crm_forecast_grid tr[data-name='${REGION_NAME}'] .o_crm_forecast_grid_toggle`,
      run: "click",
    },
    {
      content: "The office shows beneath the region",
      trigger: `.o_crm_forecast_grid tr[data-name='${REGION_NAME}'] + tr[data-name='${OFFICE_NAME}']`,
    },
    {
      content: "Its salesperson stays folded in the office",
      trigger: `.o_crm_forecast_grid:not(:has(tr[data-name='${SELLER_NAME}']))`,
    },
    {
      content: "Adjust the office's forecast",
      trigger: `.o_crm_forecast_grid tr[data-name='${OFFICE_NAME}'] .o_crm_forecast_grid_adjust`,
      run: "click",
    },
    {
      content: "Enter the manager's forecast",
      trigger: ".modal .o_field_widget[name=amount_adjusted] input",
      run: `edit ${ADJUSTED}`,
    },
    {
      content: "Say why",
      trigger: ".modal .o_field_widget[name=adjustment_note] textarea",
      run: `edit ${NOTE}`,
    },
    {
      content: "Save the adjustment",
      trigger: ".modal .o_form_button_save",
      run: "click",
    },
    {
      content: "The grid shows the office's new forecast and its note",
      trigger: `body:not(:has(.modal)) .o_crm_forecast_grid tr[data-name='${OFFICE_NAME}']:has(td[data-field=amount_forecast][data-value='${ADJUSTED}']):has(.o_crm_forecast_grid_note)`,
    },
    {
      content: "Freeze the forecast",
      trigger: ".o_form_view .o_form_statusbar button[name=action_freeze]",
      run: "click",
    },
    {
      content: "Confirm the freeze",
      trigger: ".modal-footer button.btn-primary",
      run: "click",
    },
    {
      content: "The forecast is frozen, the adjustment kept",
      trigger: `.o_statusbar_status button.o_arrow_button_current[data-value=frozen]`,
    },
    {
      content: "The adjusted forecast survived the freeze",
      trigger: `.o_crm_forecast_grid tr[data-name='${OFFICE_NAME}'] td[data-field=amount_forecast][data-value='${ADJUSTED}']`,
    },
  ],
});
