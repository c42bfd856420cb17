import {Component, onWillStart, useState} from "@odoo/owl";
import {_t} from "@web/core/l10n/translation";
import {registry} from "@web/core/registry";
import {user} from "@web/core/user";
import {useService} from "@web/core/utils/hooks";
import {formatMonetary} from "@web/views/fields/formatters";
import {standardFieldProps} from "@web/views/fields/standard_field_props";
import {FormViewDialog} from "@web/views/view_dialogs/form_view_dialog";

/**
 * The figures of a line, in the words sales managers use, as columns of the grid.
 * Actual only once the forecast is closed.
 */
const COLUMNS = [
  {
    name: "amount_pipeline",
    label: _t("Pipeline"),
    help: _t("Open opportunities closing in the period, except those omitted"),
  },
  {
    name: "amount_best_case",
    label: _t("Best Case"),
    help: _t("Best case and commit opportunities"),
  },
  {name: "amount_commit", label: _t("Commit"), help: _t("Commit opportunities")},
  {
    name: "amount_weighted",
    label: _t("Weighted"),
    help: _t("Expected revenue × probability"),
  },
  {
    name: "amount_historical",
    label: _t("Historical"),
    help: _t("Expected revenue × the historical win rate of the stage"),
  },
  {
    name: "amount_submitted",
    label: _t("Submitted"),
    help: _t("A salesperson's commit; above, the sum of the forecasts just below"),
  },
  {
    name: "amount_adjusted",
    label: _t("Adjustment"),
    help: _t("A manager's forecast replacing the submitted figure"),
  },
  {
    name: "amount_forecast",
    label: _t("Forecast"),
    help: _t("The adjustment when there is one, else the submitted figure"),
  },
  {
    name: "amount_won_to_date",
    label: _t("Won to Date"),
    help: _t("Won so far in the period"),
  },
  {
    name: "amount_actual",
    label: _t("Actual"),
    help: _t("Won in the period, once it is closed"),
    closedOnly: true,
  },
];

const LEVELS = {
  company: {sequence: 0, label: _t("Company")},
  region: {sequence: 1, label: _t("Region")},
  team: {sequence: 2, label: _t("Sales Team")},
  user: {sequence: 3, label: _t("Salesperson")},
};

// Rows at a smaller depth open expanded: the company, its regions and their
// sub-regions, until the reader opens or closes one
const EXPANDED_DEPTH = 2;

/**
 * The rollup of a sales forecast (crm.forecast.line_ids) as a grid: the company
 * line, then regions (nested), offices and salespeople, each row expanding into
 * the lines that roll up into it (parent_id). A line whose parent the user may not
 * read heads the grid: a regional manager sees their regions.
 *
 * Sales managers adjust a line of a forecast that is not closed: the line's
 * adjustment form opens in a dialog, and the model's rules decide what is saved.
 */
export class ForecastGridField extends Component {
  static template = "crm_extended.ForecastGridField";
  static props = {...standardFieldProps};

  setup() {
    this.dialog = useService("dialog");
    this.orm = useService("orm");
    // Rows the reader expanded or collapsed: {line id: expanded}
    this.state = useState({toggled: {}});
    this.isManager = false;
    onWillStart(async () => {
      this.isManager = await user.hasGroup("sales_team.group_sale_manager");
    });
  }

  get forecastState() {
    return this.props.record.data.state;
  }

  get columns() {
    const closed = this.forecastState === "closed";
    return COLUMNS.filter((column) => closed || !column.closedOnly);
  }

  get canAdjust() {
    return this.isManager && this.forecastState !== "closed";
  }

  get lines() {
    return this.props.record.data[this.props.name].records;
  }

  /**
   * The lines as a tree: {roots, children: Map(line id → child records)}, children
   * ordered regions, teams, salespeople, then by name.
   */
  get tree() {
    const ids = new Set(this.lines.map((line) => line.resId));
    const children = new Map();
    const roots = [];
    for (const line of this.lines) {
      const parentId = line.data.parent_id && line.data.parent_id[0];
      if (parentId && ids.has(parentId)) {
        if (!children.has(parentId)) {
          children.set(parentId, []);
        }
        children.get(parentId).push(line);
      } else {
        roots.push(line);
      }
    }
    const order = (a, b) =>
      LEVELS[a.data.level].sequence - LEVELS[b.data.level].sequence ||
      a.data.name.localeCompare(b.data.name);
    roots.sort(order);
    for (const kids of children.values()) {
      kids.sort(order);
    }
    return {roots, children};
  }

  /** The visible rows, top down, with their depth. */
  get rows() {
    const {roots, children} = this.tree;
    const rows = [];
    const visit = (line, depth, parent) => {
      const kids = children.get(line.resId) || [];
      const expanded = this.isExpanded(line.resId, depth);
      rows.push({
        id: line.resId,
        line,
        data: line.data,
        depth,
        label: this.label(line, parent),
        levelLabel: LEVELS[line.data.level].label,
        hasChildren: kids.length > 0,
        expanded,
      });
      if (expanded) {
        for (const kid of kids) {
          visit(kid, depth + 1, line);
        }
      }
    };
    for (const root of roots) {
      visit(root, 0, null);
    }
    return rows;
  }

  isExpanded(lineId, depth) {
    return lineId in this.state.toggled
      ? this.state.toggled[lineId]
      : depth < EXPANDED_DEPTH;
  }

  /**
   * A line's name under its parent: a sub-region without the path of the region
   * above it ("Northeast" under "United States / East"); the top lines in full.
   */
  label(line, parent) {
    const name = line.data.name;
    if (parent && line.data.level === "region" && parent.data.level === "region") {
      const prefix = `${parent.data.name} / `;
      if (name.startsWith(prefix)) {
        return name.slice(prefix.length);
      }
    }
    return name;
  }

  toggleTitle(row) {
    return row.expanded ? _t("Collapse %s", row.label) : _t("Expand %s", row.label);
  }

  formatAmount(row, column) {
    const value = row.data[column.name];
    if (column.name === "amount_adjusted" && !row.data.is_adjusted) {
      return "";
    }
    const currency = row.data.currency_id || this.props.record.data.currency_id;
    // Whole units: a forecast is no figure to the cent, and the columns fit
    return formatMonetary(value, {
      currencyId: currency && currency[0],
      digits: [16, 0],
    });
  }

  // Handlers ------------------------------------------------------------

  toggle(row) {
    this.state.toggled[row.id] = !row.expanded;
  }

  expandAll() {
    for (const line of this.lines) {
      this.state.toggled[line.resId] = true;
    }
  }

  collapseAll() {
    for (const line of this.lines) {
      this.state.toggled[line.resId] = false;
    }
  }

  async adjust(row) {
    // Unsaved changes of the forecast are saved first: the form reloads after
    if (!(await this.props.record.save())) {
      return;
    }
    this.dialog.add(FormViewDialog, {
      resModel: "crm.forecast.line",
      resId: row.id,
      title: _t("Adjust the forecast of %s", row.label),
      context: {form_view_ref: "crm_extended.crm_forecast_line_view_form_adjust"},
      onRecordSaved: () => this.props.record.load(),
    });
  }

  async clearAdjustment(row) {
    if (!(await this.props.record.save())) {
      return;
    }
    await this.orm.call("crm.forecast.line", "action_clear_adjustment", [[row.id]]);
    await this.props.record.load();
  }
}

export const forecastGridField = {
  component: ForecastGridField,
  displayName: _t("Forecast rollup grid"),
  supportedTypes: ["one2many"],
  additionalClasses: ["o_field_crm_forecast_grid"],
  relatedFields: [
    {name: "name", type: "char"},
    {
      name: "level",
      type: "selection",
      selection: Object.entries(LEVELS).map(([key, level]) => [key, level.label]),
    },
    {name: "parent_id", type: "many2one", relation: "crm.forecast.line"},
    {name: "currency_id", type: "many2one", relation: "res.currency"},
    {name: "is_adjusted", type: "boolean"},
    {name: "adjustment_note", type: "text"},
    ...COLUMNS.map((column) => ({
      name: column.name,
      type: "monetary",
      currency_field: "currency_id",
    })),
  ],
};

registry.category("fields").add("crm_forecast_grid", forecastGridField);
