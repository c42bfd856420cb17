from odoo import api, fields, models
from odoo.tools import SQL
from odoo.tools.sql import table_exists

OUTCOMES = [("open", "Open"), ("won", "Won"), ("lost", "Lost")]


class CrmLeadStageHistory(models.Model):
    """One line per stay of a lead in a stage: the stage it left and the stage it
    entered, when it entered and left it, and who held the lead then. Written by
    ``crm.lead`` in one statement for all the leads of a create or write whose stage
    changes, never by hand.

    ``outcome`` is stored, not derived in the reports: it is kept in sync by the same
    statement when a lead is won, lost or restored, so that every report groups and
    filters on an indexed column of this table instead of joining the leads again."""

    _name = "crm.lead.stage.history"
    _description = "Lead Stage History"
    _order = "date_in desc, id desc"
    _rec_name = "stage_to_id"
    _check_company_auto = True

    lead_id = fields.Many2one(
        "crm.lead",
        required=True,
        readonly=True,
        index=True,
        ondelete="cascade",
    )
    stage_from_id = fields.Many2one(
        "crm.stage", string="Stage Left", readonly=True, ondelete="set null"
    )
    stage_to_id = fields.Many2one(
        "crm.stage",
        string="Stage",
        readonly=True,
        index=True,
        ondelete="set null",
        help="The stage the lead entered.",
    )
    date_in = fields.Datetime(string="Entered On", readonly=True, index=True)
    date_out = fields.Datetime(
        string="Left On", readonly=True, help="Empty while the lead is in the stage."
    )
    days = fields.Float(
        string="Days in Stage",
        readonly=True,
        digits=(16, 2),
        aggregator="avg",
        help="Days between entering and leaving the stage; empty while the lead is "
        "in it.",
    )
    # Who held the lead when it entered the stage
    user_id = fields.Many2one("res.users", string="Salesperson", readonly=True)
    team_id = fields.Many2one("crm.team", string="Sales Team", readonly=True)
    sales_region_id = fields.Many2one("crm.sales.region", readonly=True, index=True)
    company_id = fields.Many2one("res.company", readonly=True, index=True)
    outcome = fields.Selection(
        OUTCOMES,
        readonly=True,
        index=True,
        help="Where the lead stands now: open, won or lost.",
    )
    is_backfill = fields.Boolean(
        string="Started at Install",
        readonly=True,
        help="The lead's stage when the stage history was installed: the stages it "
        "passed before are unknown.",
    )

    def _auto_init(self):
        created = not table_exists(self.env.cr, self._table)
        result = super()._auto_init()
        if created:
            self._backfill()
        return result

    @api.model
    def _backfill(self):
        """Every lead with a stage and no history yet (at install: every existing
        lead) starts its history in its stage, from when it entered it: one
        INSERT ... SELECT, however many leads there are."""
        self.env.cr.execute(
            SQL(
                """
                INSERT INTO crm_lead_stage_history
                       (lead_id, stage_to_id, date_in, user_id, team_id,
                        sales_region_id, company_id, outcome, is_backfill,
                        create_uid, create_date, write_uid, write_date)
                SELECT l.id, l.stage_id,
                       COALESCE(l.date_last_stage_update, l.create_date),
                       l.user_id, l.team_id, l.sales_region_id, l.company_id,
                       %(outcome)s, TRUE,
                       %(uid)s, now() AT TIME ZONE 'UTC',
                       %(uid)s, now() AT TIME ZONE 'UTC'
                  FROM crm_lead l
                  LEFT JOIN crm_stage s ON s.id = l.stage_id
                 WHERE l.stage_id IS NOT NULL
                   AND NOT EXISTS (
                       SELECT 1 FROM crm_lead_stage_history h
                        WHERE h.lead_id = l.id
                   )
                """,
                outcome=self._outcome_sql(),
                uid=self.env.uid,
            )
        )

    @api.model
    def _outcome_sql(self):
        """The outcome of the lead ``l`` in the stage ``s``."""
        return SQL(
            """CASE WHEN NOT l.active THEN 'lost'
                    WHEN COALESCE(s.is_won, FALSE) THEN 'won'
                    ELSE 'open' END"""
        )

    @api.model
    def _sync(self, lead_ids):
        """Bring the history of the leads ``lead_ids`` up to date, in one statement:
        an open line whose stage is no longer the lead's is closed (date out, days),
        a line in the lead's new stage is opened, and every line of a lead takes the
        lead's outcome. Leads whose stage did not change get no line."""
        if not lead_ids:
            return
        now = fields.Datetime.now()
        self.env.cr.execute(
            SQL(
                """
                WITH lead AS (
                    SELECT l.id, l.stage_id, l.user_id, l.team_id,
                           l.sales_region_id, l.company_id,
                           %(outcome)s AS outcome
                      FROM crm_lead l
                      LEFT JOIN crm_stage s ON s.id = l.stage_id
                     WHERE l.id = ANY(%(ids)s)
                ),
                line AS (
                    SELECT h.id, lead.outcome,
                           (h.date_out IS NULL
                            AND h.stage_to_id IS DISTINCT FROM lead.stage_id)
                               AS closing
                      FROM crm_lead_stage_history h
                      JOIN lead ON lead.id = h.lead_id
                ),
                updated AS (
                    UPDATE crm_lead_stage_history h
                       SET date_out = CASE WHEN line.closing THEN %(now)s
                                           ELSE h.date_out END,
                           days = CASE WHEN line.closing
                                       THEN round(extract(epoch FROM
                                                  %(now)s - h.date_in)::numeric
                                                  / 86400, 2)
                                       ELSE h.days END,
                           outcome = line.outcome,
                           write_uid = %(uid)s, write_date = %(now)s
                      FROM line
                     WHERE h.id = line.id
                       AND (line.closing
                            OR h.outcome IS DISTINCT FROM line.outcome)
                 RETURNING h.lead_id, h.stage_to_id, line.closing
                )
                INSERT INTO crm_lead_stage_history
                       (lead_id, stage_from_id, stage_to_id, date_in, user_id,
                        team_id, sales_region_id, company_id, outcome, is_backfill,
                        create_uid, create_date, write_uid, write_date)
                SELECT lead.id, left_.stage_to_id, lead.stage_id, %(now)s,
                       lead.user_id, lead.team_id, lead.sales_region_id,
                       lead.company_id, lead.outcome, FALSE,
                       %(uid)s, %(now)s, %(uid)s, %(now)s
                  FROM lead
                  LEFT JOIN updated left_
                         ON left_.lead_id = lead.id AND left_.closing
                 WHERE lead.stage_id IS NOT NULL
                   AND (left_.lead_id IS NOT NULL
                        OR NOT EXISTS (
                            SELECT 1 FROM crm_lead_stage_history h
                             WHERE h.lead_id = lead.id AND h.date_out IS NULL
                        ))
                """,
                outcome=self._outcome_sql(),
                ids=list(lead_ids),
                now=now,
                uid=self.env.uid,
            )
        )
        self.invalidate_model()
