from odoo import fields, models
from odoo.tools import SQL

from ..models.crm_lead_stage_history import OUTCOMES


class CrmSalesCycleReport(models.Model):
    """The sales funnel: one row per lead and stage it reached (its first entry
    into the stage), from the stage history. Counted, the rows are the leads that
    reached each stage; averaged, the percentages are the conversion to a later
    stage and the win rate, the days the time spent in the stage and the cycle
    length of the won deals."""

    _name = "crm.sales.cycle.report"
    _description = "Sales Cycle Analysis"
    _auto = False
    _order = "date_in desc, id desc"
    _rec_name = "stage_id"

    lead_id = fields.Many2one("crm.lead", string="Opportunity", readonly=True)
    stage_id = fields.Many2one("crm.stage", readonly=True)
    date_in = fields.Datetime(
        string="Entered On",
        readonly=True,
        help="When the lead first entered the stage.",
    )
    user_id = fields.Many2one("res.users", string="Salesperson", readonly=True)
    team_id = fields.Many2one("crm.team", string="Sales Team", readonly=True)
    sales_region_id = fields.Many2one("crm.sales.region", readonly=True)
    company_id = fields.Many2one("res.company", readonly=True)
    outcome = fields.Selection(OUTCOMES, readonly=True)
    lost_reason_id = fields.Many2one(
        "crm.lost.reason",
        readonly=True,
        help="Only on the stage the lead was lost in.",
    )
    is_last_stage = fields.Boolean(
        string="Current Stage", readonly=True, help="The stage the lead is in now."
    )
    lead_count = fields.Integer(
        string="Leads Reached", readonly=True, help="1 per lead: summed, the funnel."
    )
    days = fields.Float(
        string="Days in Stage",
        readonly=True,
        aggregator="avg",
        digits=(16, 2),
        help="Days the lead spent in the stage, all its stays together; empty while "
        "it has not left the stage yet, and then not in the average.",
    )
    conversion = fields.Float(
        string="Conversion (%)",
        readonly=True,
        aggregator="avg",
        digits=(16, 2),
        help="100 when the lead went on to a later stage (by sequence), else 0. "
        "Averaged: the share of the leads that reached the stage and went further; "
        "leads still in the stage count as not (yet) converted.",
    )
    win_rate = fields.Float(
        string="Win Rate (%)",
        readonly=True,
        aggregator="avg",
        digits=(16, 2),
        help="100 when the lead was won, 0 when lost, empty while open (then not in "
        "the average): the win rate of the closed leads that reached the stage.",
    )
    cycle_days = fields.Float(
        string="Cycle Length (Days)",
        readonly=True,
        aggregator="avg",
        digits=(16, 2),
        help="For a won deal, on its won stage only: days from entering the first "
        "stage (its creation, when its history began at install) to its closing. "
        "Averaged: the cycle length of the won deals.",
    )

    _depends = {
        "crm.lead.stage.history": [
            "lead_id",
            "stage_to_id",
            "date_in",
            "days",
            "user_id",
            "team_id",
            "sales_region_id",
            "company_id",
            "outcome",
            "is_backfill",
        ],
        "crm.lead": ["stage_id", "lost_reason_id", "create_date", "date_closed"],
        "crm.stage": ["sequence", "is_won"],
    }

    @property
    def _table_query(self):
        return SQL("%s %s %s", self._select(), self._from(), self._where())

    def _select(self):
        return SQL(
            """
            SELECT h.id, h.lead_id, h.stage_to_id AS stage_id, h.date_in,
                   h.user_id, h.team_id, h.sales_region_id, h.company_id,
                   h.outcome,
                   CASE WHEN h.outcome = 'lost' AND l.stage_id = h.stage_to_id
                        THEN l.lost_reason_id END AS lost_reason_id,
                   l.stage_id = h.stage_to_id AS is_last_stage,
                   1 AS lead_count, h.total_days AS days,
                   CASE WHEN h.max_sequence > h.sequence THEN 100.0 ELSE 0.0 END
                       AS conversion,
                   CASE h.outcome WHEN 'won' THEN 100.0 WHEN 'lost' THEN 0.0 END
                       AS win_rate,
                   CASE WHEN h.outcome = 'won' AND h.is_won
                        THEN round(extract(epoch FROM l.date_closed - CASE
                                   WHEN h.backfilled THEN l.create_date
                                   ELSE h.first_in END)::numeric
                                   / 86400, 2) END AS cycle_days
            """
        )

    def _from(self):
        return SQL(
            """
            FROM (
                SELECT h.*, s.sequence, COALESCE(s.is_won, FALSE) AS is_won,
                       row_number() OVER (PARTITION BY h.lead_id, h.stage_to_id
                                          ORDER BY h.date_in, h.id) AS entry,
                       sum(h.days) OVER (PARTITION BY h.lead_id, h.stage_to_id)
                           AS total_days,
                       max(s.sequence) OVER (PARTITION BY h.lead_id)
                           AS max_sequence,
                       min(h.date_in) OVER (PARTITION BY h.lead_id) AS first_in,
                       bool_or(h.is_backfill) OVER (PARTITION BY h.lead_id)
                           AS backfilled
                  FROM crm_lead_stage_history h
                  JOIN crm_stage s ON s.id = h.stage_to_id
            ) h
            JOIN crm_lead l ON l.id = h.lead_id
            """
        )

    def _where(self):
        return SQL("WHERE h.entry = 1")
