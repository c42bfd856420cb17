"""The agent's queue of ``crm.call.list.entry``: "Next call" reserving the next due
entry (its SQL and the index it reads), "Put back", taking back a released entry,
and the scheduled release of the entries left in call without an outcome."""

import logging

import psycopg2
import pytz

from odoo import _, api, fields, models
from odoo.exceptions import UserError
from odoo.tools import SQL, mute_logger
from odoo.tools.sql import create_index

from ..roles import check_role
from .crm_call_list_entry import ENTRY_MANAGER_GROUP

# The model logs under the name of its main file, whichever of its files writes.
_logger = logging.getLogger(f"{__package__}.crm_call_list_entry")

# How many due entries "Next call" considers, in case others take the first ones
RESERVE_CANDIDATES = 20
# The states of an entry in the queue (due or to come)
OPEN_STATES = ("pending", "callback")


class CrmCallListEntry(models.Model):
    _inherit = "crm.call.list.entry"

    def init(self):
        # The agents' queues: the due entries of a list by agent (0: the list's
        # shared pool; an equality, where PostgreSQL would not read the rows of an
        # IS NULL condition in the index's order), in the order "Next call" takes
        # them. Each list's queue is read in order and stopped after a few rows,
        # whatever the size of the pool.
        self.env.cr.execute("DROP INDEX IF EXISTS crm_call_list_entry_queue_index")
        create_index(
            self.env.cr,
            "crm_call_list_entry_agent_queue_index",
            self._table,
            [
                "call_list_id",
                "COALESCE(agent_id, 0)",
                "priority DESC",
                "attempt_count",
                "date_next_attempt NULLS FIRST",
                "id",
            ],
            where="state IN ('pending', 'callback')",
        )

    # ------------------------------------------------------------
    # ACTIONS
    # ------------------------------------------------------------

    def action_next_call(self):
        """The "Next call" button of the agent's queue (a list header button: called
        on the selected entries, or none; they play no part)."""
        entry = self.reserve_next(self.env.user)
        if not entry:
            return self._no_call_due_action()
        return entry._form_action()

    def action_release(self):
        """Give reserved entries back to the queue, untouched: the entry's agent
        (the record rule of agents) or a sales manager."""
        self.check_access("write")
        self._lock()
        reserved_su = self.sudo().filtered(lambda e: e.state == "in_progress")
        reserved_su.write({"state": "pending", "date_reserved": False})
        return True

    # ------------------------------------------------------------
    # BUSINESS: the agent's queue
    # ------------------------------------------------------------

    def _queue_sql(self, agent, hour, now, limit):
        """The first ``limit`` due entries of ``agent``'s queue, best first: in each
        running list of the agent's companies, their own entries, then the list's
        unassigned ones if they are an agent of the list. Each of these queues is
        read in order from the partial index ``crm_call_list_entry_agent_queue_index``
        (list, agent or 0, the queue's order) and stopped at ``limit`` rows, so the
        cost does not grow with the pool: a plan joining the whole pool to the
        customers and sorting it took 45 ms for a pool of 10,000 entries."""
        due = SQL(
            """e.state IN ('pending', 'callback')
               AND (e.date_next_attempt IS NULL OR e.date_next_attempt <= %(now)s)
               AND NOT COALESCE((SELECT p.call_do_not_call OR cp.call_do_not_call
                                   FROM res_partner p
                              LEFT JOIN res_partner cp
                                     ON cp.id = p.commercial_partner_id
                                  WHERE p.id = e.partner_id), FALSE)
               AND NOT EXISTS (SELECT 1 FROM phone_blacklist b
                                WHERE b.active AND b.number = e.phone)""",
            now=now,
        )
        order = SQL(
            "e.priority DESC, e.attempt_count, e.date_next_attempt NULLS FIRST, e.id"
        )
        # Within a list, outside its calling hours only callbacks are due.
        hours = SQL(
            """(e.state = 'callback' OR (l.call_hour_from <= %(hour)s
                                          AND %(hour)s < l.call_hour_to))""",
            hour=hour,
        )
        return SQL(
            """SELECT q.id
                 FROM crm_call_list l
                 CROSS JOIN LATERAL (
                     (SELECT e.id, e.priority, e.attempt_count, e.date_next_attempt
                        FROM crm_call_list_entry e
                       WHERE e.call_list_id = l.id
                         AND COALESCE(e.agent_id, 0) = %(agent)s
                         AND %(due)s AND %(hours)s
                       ORDER BY %(order)s LIMIT %(limit)s)
                     UNION ALL
                     (SELECT e.id, e.priority, e.attempt_count, e.date_next_attempt
                        FROM crm_call_list_entry e
                       WHERE e.call_list_id = l.id
                         AND COALESCE(e.agent_id, 0) = 0
                         AND EXISTS (SELECT 1 FROM crm_call_list_agent_rel r
                                      WHERE r.call_list_id = l.id
                                        AND r.user_id = %(agent)s)
                         AND %(due)s AND %(hours)s
                       ORDER BY %(order)s LIMIT %(limit)s)
                 ) AS q
                WHERE l.state = 'running' AND l.active
                  AND l.company_id IN %(companies)s
                ORDER BY q.priority DESC, q.attempt_count,
                         q.date_next_attempt NULLS FIRST, q.id
                LIMIT %(limit)s""",
            agent=agent.id,
            due=due,
            hours=hours,
            order=order,
            limit=limit,
            companies=tuple(agent.company_ids.ids) or (0,),
        )

    @api.model
    def reserve_next(self, agent):
        """Reserve and return the next due entry of the agent's running lists, or an
        empty recordset.

        Due: to call (within the list's calling hours, in the agent's time zone) or a
        callback, whose next attempt time has come, of a list the agent calls, not
        of a do-not-call customer nor of a blacklisted number. The first by priority,
        attempts made, next attempt time. Its row is locked with SKIP LOCKED, so that
        agents clicking at the same moment never get the same entry: each skips the
        rows the others are reserving.
        """
        self._check_telesales_access()
        agent = self.env["res.users"].browse(int(agent))
        if agent != self.env.user:
            check_role(
                self.env,
                ENTRY_MANAGER_GROUP,
                _("You can only take calls from your own queue."),
            )
        now = fields.Datetime.now()
        hour = self._local_hour(agent, now)
        self.env.flush_all()
        candidates = [
            row[0]
            for row in self.env.execute_query(
                self._queue_sql(agent, hour, now, RESERVE_CANDIDATES)
            )
        ]
        rows = []
        for candidate in candidates:
            # Odoo's requests read a snapshot (REPEATABLE READ): an entry another
            # agent reserved and committed since the snapshot was taken cannot be
            # locked (serialization failure), one being reserved is skipped. Either
            # way: the next candidate (the failed query is expected: not logged).
            try:
                with mute_logger("odoo.sql_db"), self.env.cr.savepoint(flush=False):
                    rows = self.env.execute_query(
                        SQL(
                            """SELECT id FROM crm_call_list_entry
                                WHERE id = %s AND state IN ('pending', 'callback')
                                  FOR UPDATE SKIP LOCKED""",
                            candidate,
                        )
                    )
            except psycopg2.errors.SerializationFailure:
                continue
            if rows:
                break
        if not rows:
            return self.browse()
        self.env.execute_query(
            SQL(
                """UPDATE crm_call_list_entry
                      SET state = 'in_progress', agent_id = %s, date_reserved = %s,
                          write_uid = %s, write_date = %s
                    WHERE id = %s""",
                agent.id,
                now,
                self.env.uid,
                now,
                rows[0][0],
            )
        )
        entry = self.browse(rows[0][0])
        entry.invalidate_recordset(
            ["state", "agent_id", "date_reserved", "write_uid", "write_date"]
        )
        return entry

    @api.model
    def _no_call_due_action(self, **params):
        """The notification that the agent's queue has no call due; ``params`` are
        added to it (``next``: the action run after it)."""
        return {
            "type": "ir.actions.client",
            "tag": "display_notification",
            "params": {
                "type": "info",
                "message": self.env["crm.call.list"]._no_call_due_message(),
                **params,
            },
        }

    @api.model
    def _local_hour(self, agent, when=None):
        """Hour of the day (a float) at ``when`` in the agent's time zone."""
        when = when or fields.Datetime.now()
        local = pytz.utc.localize(when).astimezone(pytz.timezone(agent.tz or "UTC"))
        return local.hour + local.minute / 60.0 + (local.second / 3600.0)

    def _check_reservation(self):
        """The entry is the current user's to call, or a UserError says why not.

        Its reservation may have been released (``_cron_release_reserved``) while
        its agent was still on the phone: if the entry is still in the list's pool,
        untouched, the agent (an agent of the list) takes it back and goes on; if
        another agent has it now, or took it since, the agent is told. Nobody logs a
        call another agent is in."""
        self.ensure_one()
        entry_su = self.sudo()
        user = self.env.user
        if entry_su.agent_id == user:
            return
        customer = entry_su.partner_id.display_name or entry_su.phone
        if entry_su.state == "in_progress" and entry_su.agent_id:
            minutes = entry_su.call_list_id.release_delay_minutes
            if not minutes:
                raise UserError(
                    _(
                        "%(customer)s is in call with %(agent)s now: the call is "
                        "theirs.",
                        customer=customer,
                        agent=entry_su.agent_id.name,
                    )
                )
            raise UserError(
                _(
                    "%(customer)s is in call with %(agent)s now: the call is theirs. "
                    "A reserved call left without an outcome for %(minutes)s minutes "
                    "goes back to the queue.",
                    customer=customer,
                    agent=entry_su.agent_id.name,
                    minutes=minutes,
                )
            )
        if self.has_access("write"):
            return
        not_yours = UserError(
            _(
                "The call to %(customer)s is no longer yours: it went back to the "
                "queue (put back, or left without an outcome longer than the list's "
                "release time) and another agent has taken it since.",
                customer=customer,
            )
        )
        if (
            entry_su.agent_id
            or entry_su.state not in OPEN_STATES
            or user not in entry_su.call_list_id.agent_ids
        ):
            raise not_yours
        now = fields.Datetime.now()
        self.flush_recordset(["state", "agent_id"])
        rows = self.env.execute_query(
            SQL(
                """UPDATE crm_call_list_entry
                      SET state = 'in_progress', agent_id = %s, date_reserved = %s,
                          write_uid = %s, write_date = %s
                    WHERE id = %s AND agent_id IS NULL AND state IN %s
                RETURNING id""",
                user.id,
                now,
                user.id,
                now,
                self.id,
                OPEN_STATES,
            )
        )
        self.invalidate_recordset(
            ["state", "agent_id", "date_reserved", "write_uid", "write_date"]
        )
        if not rows:
            raise not_yours

    # ------------------------------------------------------------
    # BUSINESS: automatic release of reserved entries
    # ------------------------------------------------------------

    def _release_stale_sql(self, now):
        """Put back, in one UPDATE, the entries in call whose last sign of life is
        older than their list's release time: the latest of their reservation and
        the start of their open call (or, with neither, their last change). They go
        to the list's common pool, for any of its agents to take with "Next call";
        a callback (its last outcome) stays a callback.

        The rows are locked with SKIP LOCKED: an entry whose outcome is being logged
        at the same moment (``action_log_outcome`` locks it first) is left for the
        next run."""
        return SQL(
            """WITH stale AS (
                   SELECT e.id, COALESCE(o.action = 'callback', FALSE) AS callback
                     FROM crm_call_list_entry e
                     JOIN crm_call_list l ON l.id = e.call_list_id
                LEFT JOIN crm_call_outcome o ON o.id = e.outcome_id
                    WHERE e.state = 'in_progress'
                      AND l.release_delay_minutes > 0
                      AND COALESCE(
                              GREATEST(
                                  e.date_reserved,
                                  (SELECT max(c.date) FROM crm_phonecall c
                                    WHERE c.call_list_entry_id = e.id
                                      AND c.state = 'open' AND c.active)),
                              e.write_date)
                          < %(now)s - make_interval(mins => l.release_delay_minutes)
                      FOR NO KEY UPDATE OF e SKIP LOCKED
               )
               UPDATE crm_call_list_entry e
                  SET state = CASE WHEN stale.callback THEN 'callback'
                                   ELSE 'pending' END,
                      agent_id = NULL, date_reserved = NULL,
                      write_uid = %(uid)s, write_date = %(now)s
                 FROM stale
                WHERE e.id = stale.id
            RETURNING e.id""",
            now=now,
            uid=self.env.uid,
        )

    @api.model
    def _cron_release_reserved(self):
        """Scheduled: put back the reserved entries left without an outcome longer
        than their list's release time (an agent who closed the browser keeps no
        customer). A constant number of queries whatever their number; nothing is
        posted per entry. Returns the released entries."""
        self.env.flush_all()
        try:
            # The cron's snapshot may predate an outcome logged and committed since:
            # locking that row fails (serialization failure). The next run does it.
            with mute_logger("odoo.sql_db"), self.env.cr.savepoint(flush=False):
                rows = self.env.execute_query(
                    self._release_stale_sql(fields.Datetime.now())
                )
        except psycopg2.errors.SerializationFailure:
            _logger.info(
                "Call lists: reserved calls changed concurrently, released next run"
            )
            rows = []
        released = self.browse(row[0] for row in rows)
        if released:
            self.invalidate_model(
                ["state", "agent_id", "date_reserved", "write_uid", "write_date"]
            )
            _logger.info(
                "Call lists: %s reserved calls left without an outcome released",
                len(released),
            )
        self.env["ir.cron"]._notify_progress(done=len(released), remaining=0)
        return released
