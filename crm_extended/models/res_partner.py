from collections import defaultdict
from datetime import timedelta

from odoo import _, api, fields, models
from odoo.exceptions import AccessError, ValidationError
from odoo.tools import SQL

# Partner fields the region of a partner is computed from.
REGION_SOURCE_FIELDS = [
    "state_id",
    "country_id",
    "company_id",
    "commercial_partner_id",
    "sales_region_id",
    "sales_region_manual",
]

# Fields of a customer that its salesperson, sales managers and the regional managers
# of its region change, nobody else: where it is sold and whether it may be called.
CUSTOMER_GUARDED_FIELDS = ("sales_region_id", "sales_region_manual", "call_do_not_call")

# Customers a run of the follow-up job handles at most, for each kind of work (new
# follow-ups, follow-ups to close); it reports the rest to the cron runner, which
# commits and calls it again.
FOLLOWUP_BATCH = 2000

# The last contact of a commercial entity comes from what happens with any of its
# members (itself and its contacts): done customer work, held calls, confirmed orders.
LAST_CONTACT_DEPENDS = [
    "commercial_partner_id",
    "commercial_member_ids",
    "commercial_member_ids.sfa_contact_event_ids.sfa_state",
    "commercial_member_ids.sfa_contact_event_ids.start",
    "commercial_member_ids.sfa_contact_event_ids.active",
    "commercial_member_ids.phonecall_ids.state",
    "commercial_member_ids.phonecall_ids.date",
    "commercial_member_ids.phonecall_ids.active",
    "commercial_member_ids.sale_order_ids.state",
    "commercial_member_ids.sale_order_ids.date_order",
]


class ResPartner(models.Model):
    _inherit = "res.partner"

    sales_region_id = fields.Many2one(
        "crm.sales.region",
        compute="_compute_sales_region_id",
        store=True,
        readonly=False,
        index=True,
        ondelete="set null",
        tracking=True,
        help="Assigned from the address: a region claiming the state beats one "
        "claiming the country, the deepest region wins; contacts follow their company. "
        "Set by hand, it stays until it is cleared.",
    )
    sales_region_manual = fields.Boolean(
        string="Region Set by Hand",
        copy=False,
        help="The sales region was chosen by a user and is no longer assigned from "
        "the address.",
    )

    # Contact cadence (commercial entities that are customers; contacts follow their
    # company: their calls, visits and orders count for it)
    contact_interval_days = fields.Integer(
        string="Contact Every (Days)",
        compute="_compute_contact_interval_days",
        store=True,
        readonly=False,
        help="How often this customer must be contacted; 0: no contact cadence. "
        "Defaults from its tags (the shortest interval wins), else from the company "
        "setting. Set by hand, it stays until 'set by hand' is cleared.",
    )
    contact_interval_manual = fields.Boolean(
        string="Interval Set by Hand",
        copy=False,
        help="The contact interval was chosen by a user and no longer follows the "
        "tags and the company setting.",
    )
    date_last_contact = fields.Datetime(
        string="Last Contact",
        compute="_compute_date_last_contact",
        store=True,
        copy=False,
        help="The last done visit, call or meeting, held phone call or confirmed order "
        "of this customer or one of its contacts.",
    )
    date_next_contact = fields.Date(
        string="Next Contact Due",
        compute="_compute_date_next_contact",
        store=True,
        index=True,
        copy=False,
        help="Last contact (or creation, if never contacted) plus the contact "
        "interval.",
    )
    is_contact_overdue = fields.Boolean(
        string="Contact Overdue",
        compute="_compute_is_contact_overdue",
        search="_search_is_contact_overdue",
    )
    # Itself and its contacts at any depth: the path the last contact depends through.
    commercial_member_ids = fields.One2many(
        "res.partner", "commercial_partner_id", string="Commercial Entity Members"
    )
    sfa_contact_event_ids = fields.One2many(
        "calendar.event", "sfa_partner_id", string="Customer Work"
    )
    sfa_event_count = fields.Integer(
        string="Customer Work Count", compute="_compute_sfa_event_count"
    )
    # Telesales
    call_do_not_call = fields.Boolean(
        string="Do Not Call",
        copy=False,
        tracking=True,
        help="Never call this contact from a call list: it is left out of new lists "
        "and its open entries of running lists are skipped.",
    )

    # Contacts follow their commercial entity: they depend on its address, not on its
    # region, so that the field is not recursive (Odoo computes recursive fields one
    # record at a time). A region set by hand on the entity reaches its contacts
    # through write().
    @api.depends(
        "sales_region_manual",
        "commercial_partner_id",
        "commercial_partner_id.state_id",
        "commercial_partner_id.country_id",
        "commercial_partner_id.company_id",
        "commercial_partner_id.sales_region_manual",
    )
    def _compute_sales_region_id(self):
        automatic = self.filtered(lambda p: not p.sales_region_manual)
        entities = automatic.commercial_partner_id
        matches = self.env["crm.sales.region"]._match_addresses(
            {entity._sales_region_key() for entity in entities}
        )
        Region = self.env["crm.sales.region"]
        for partner in automatic:
            entity = partner.commercial_partner_id
            if entity != partner and entity.sales_region_manual:
                partner.sales_region_id = entity.sales_region_id
            else:
                partner.sales_region_id = Region.browse(
                    matches.get(entity._sales_region_key())
                )

    @api.depends(
        "contact_interval_manual",
        "customer_rank",
        "commercial_partner_id",
        "company_id",
        "category_id.contact_interval_days",
    )
    def _compute_contact_interval_days(self):
        for partner in self.filtered(lambda p: not p.contact_interval_manual):
            partner.contact_interval_days = partner._contact_interval_default()

    @api.depends(*LAST_CONTACT_DEPENDS)
    def _compute_date_last_contact(self):
        entities = self.browse(
            partner._origin.id
            for partner in self
            if partner._origin.id
            and partner.commercial_partner_id._origin.id == partner._origin.id
        )
        latest = entities._contact_last_dates()
        for partner in self:
            partner.date_last_contact = latest.get(partner._origin.id, False)

    @api.depends("date_last_contact", "contact_interval_days", "create_date")
    def _compute_date_next_contact(self):
        for partner in self:
            start = partner.date_last_contact or partner.create_date
            if partner.contact_interval_days > 0 and start:
                partner.date_next_contact = start.date() + timedelta(
                    days=partner.contact_interval_days
                )
            else:
                partner.date_next_contact = False

    @api.depends("date_next_contact")
    def _compute_is_contact_overdue(self):
        today = fields.Date.context_today(self)
        for partner in self:
            partner.is_contact_overdue = bool(
                partner.date_next_contact and partner.date_next_contact < today
            )

    def _search_is_contact_overdue(self, operator, value):
        if operator not in ("=", "!="):
            return NotImplemented
        today = fields.Date.context_today(self)
        if (operator == "=") == bool(value):
            return [("date_next_contact", "<", today)]
        return [
            "|",
            ("date_next_contact", "=", False),
            ("date_next_contact", ">=", today),
        ]

    def _compute_sfa_event_count(self):
        counts = dict(
            self.env["calendar.event"]._read_group(
                [("sfa_partner_id", "in", self.commercial_partner_id.ids)],
                ["sfa_partner_id"],
                ["__count"],
            )
        )
        for partner in self:
            partner.sfa_event_count = counts.get(partner.commercial_partner_id, 0)

    def action_open_sfa_events(self):
        self.ensure_one()
        action = self.env["ir.actions.act_window"]._for_xml_id(
            "crm_extended.calendar_event_action_team"
        )
        action["domain"] = [("sfa_partner_id", "=", self.commercial_partner_id.id)]
        action["context"] = {
            "default_sfa_partner_id": self.commercial_partner_id.id,
            "default_sfa_kind": "visit",
        }
        action["views"] = [
            (self.env.ref("crm_extended.calendar_event_view_list_sfa").id, "list"),
            (
                self.env.ref("crm_extended.calendar_event_view_calendar_sfa").id,
                "calendar",
            ),
            (False, "form"),
        ]
        return action

    # ------------------------------------------------------------
    # CONSTRAINTS
    # ------------------------------------------------------------

    @api.constrains("contact_interval_days")
    def _check_contact_interval_days(self):
        for partner in self:
            if partner.contact_interval_days < 0:
                raise ValidationError(
                    _(
                        "The contact interval of %(name)s cannot be negative "
                        "(0: no contact cadence).",
                        name=partner.display_name,
                    )
                )

    def _sales_region_key(self):
        return (
            self.company_id.id or None,
            self.state_id.id or None,
            self.country_id.id or None,
        )

    # ------------------------------------------------------------
    # ORM
    # ------------------------------------------------------------

    @api.model_create_multi
    def create(self, vals_list):
        self._check_customer_guarded_fields(vals_list, creating=True)
        for vals in vals_list:
            if vals.get("sales_region_id"):
                vals["sales_region_manual"] = True
            elif "sales_region_id" in vals:
                # No region (a new record's form sends the empty field): the address
                # assigns it, as when a region is cleared.
                del vals["sales_region_id"]
        partners = super().create(vals_list)
        # An interval given at creation is a choice: see _contact_interval_mark_manual.
        given = [
            partner
            for partner, vals in zip(partners, vals_list, strict=True)
            if "contact_interval_days" in vals
            and not vals.get("contact_interval_manual")
        ]
        if given:
            self.browse(p.id for p in given)._contact_interval_mark_manual()
        return partners

    def write(self, vals):
        self._check_customer_guarded_fields([vals])
        if "sales_region_id" in vals:
            vals = dict(vals)
            if vals["sales_region_id"]:
                vals["sales_region_manual"] = True
            else:
                # Clearing the region hands it back to the address.
                vals.pop("sales_region_id")
                vals["sales_region_manual"] = False
        res = super().write(vals)
        if "sales_region_id" in vals:
            # The contacts of an entity whose region was set by hand follow it.
            contacts = self.search(
                [
                    ("commercial_partner_id", "in", self.ids),
                    ("id", "not in", self.ids),
                    ("sales_region_manual", "=", False),
                ]
            )
            self.env.add_to_compute(self._fields["sales_region_id"], contacts)
        if "contact_interval_days" in vals and "contact_interval_manual" not in vals:
            self._contact_interval_mark_manual()
        if vals.get("call_do_not_call"):
            self._call_skip_open_entries()
        return res

    def _check_customer_guarded_fields(self, vals_list, creating=False):
        """The region and the do-not-call flag of a customer are changed by its
        salesperson, by sales managers, and by the regional managers of its region
        (into a region they manage, for a region). The customer is the commercial
        entity: its salesperson and its region decide for its contacts too.

        Writing the current value, and the region the address gives (the form sends
        it back when the address changes), is no change and passes. Sales managers
        pass before any work per record, whatever their number; otherwise a constant
        number of queries.
        """
        if self.env.su or not any(
            fname in vals for vals in vals_list for fname in CUSTOMER_GUARDED_FIELDS
        ):
            return
        user = self.env.user
        if user.has_group("sales_team.group_sale_manager"):
            return
        scope = self.env["crm.sales.region"]
        if user.has_group("crm_extended.group_regional_manager"):
            scope = scope.search(
                [("id", "child_of", user.sales_region_managed_ids.ids)]
            )
        if creating:
            for vals in vals_list:
                self._check_customer_guarded_create(vals, scope)
            return
        [vals] = vals_list
        # Others' customers: of another salesperson, or of nobody.
        partners = self.filtered(lambda p: p.commercial_partner_id.user_id != user)
        for fname in CUSTOMER_GUARDED_FIELDS:
            if fname not in vals or not partners:
                continue
            value = vals[fname]
            field = self._fields[fname]
            changed = partners.filtered(
                lambda p, f=field, v=value: p[f.name]
                != f.convert_to_record(f.convert_to_cache(v, p, validate=False), p)
            )
            if not changed or (
                fname == "sales_region_id"
                and changed._sales_region_expected(vals) == {value or False}
            ):
                continue
            allowed = changed.filtered(
                lambda p: p.commercial_partner_id.sales_region_id
                and p.commercial_partner_id.sales_region_id <= scope
            )
            if (
                fname == "sales_region_id"
                and value
                and not scope.browse(value) <= scope
            ):
                allowed = self.browse()
            if changed - allowed:
                raise self._customer_guarded_error(fname, (changed - allowed)[:1])

    def _check_customer_guarded_create(self, vals, scope):
        """On a new partner: the creator's own new customer (or a contact of their
        customer) takes any value; otherwise only the default, the region its address
        gives, or, for a regional manager, a customer of their regions."""
        guarded = {f: vals[f] for f in CUSTOMER_GUARDED_FIELDS if vals.get(f)}
        if not guarded:
            return
        parent = self.browse(vals.get("parent_id"))
        entity = (
            parent.commercial_partner_id
            if parent and not vals.get("is_company")
            else self.browse()
        )
        owner_id = entity.user_id.id if entity else vals.get("user_id")
        if owner_id == self.env.uid:
            return
        expected = self._sales_region_expected(vals)
        region = entity.sales_region_id
        if not entity:
            # A new customer's region: the one given, else its address's.
            region = self.env["crm.sales.region"].browse(
                vals.get("sales_region_id") or next(iter(expected), False)
            )
        for fname, value in guarded.items():
            if fname == "sales_region_id" and expected == {value}:
                continue
            new_region = region
            if fname == "sales_region_id":
                new_region = region.browse(value)
            if not (region and region <= scope and new_region <= scope):
                raise self._customer_guarded_error(fname, self.browse())

    def _customer_guarded_error(self, fname, partner):
        return AccessError(
            _(
                "You cannot change %(field)s of %(customer)s: only its salesperson, "
                "the sales managers and the regional managers of its sales region "
                "(within the regions they manage) may.",
                field=self._fields[fname]._description_string(self.env),
                customer=partner.display_name or _("a customer of someone else"),
            )
        )

    def _sales_region_expected(self, vals):
        """The region ids the address gives to these partners once ``vals`` are
        written (to a new partner when ``self`` is empty), as
        ``_compute_sales_region_id`` assigns it; empty when one has its region set
        by hand. One address match for all."""
        if vals.get("sales_region_manual") or any(self.mapped("sales_region_manual")):
            return set()
        Region = self.env["crm.sales.region"]
        keys, expected = [], set()
        for partner in self or [self]:
            is_company = vals.get("is_company", partner.is_company)
            parent = (
                self.browse(vals["parent_id"])
                if "parent_id" in vals
                else partner.parent_id
            )
            entity = parent.commercial_partner_id if parent and not is_company else None
            if entity and entity.sales_region_manual:
                expected.add(entity.sales_region_id.id or False)
            elif entity:
                keys.append(entity._sales_region_key())
            else:
                keys.append(
                    (
                        vals.get("company_id", partner.company_id.id) or None,
                        vals.get("state_id", partner.state_id.id) or None,
                        vals.get("country_id", partner.country_id.id) or None,
                    )
                )
        matches = Region._match_addresses(set(keys))
        expected.update(matches.get(key, False) for key in keys)
        return expected

    # ------------------------------------------------------------
    # BUSINESS
    # ------------------------------------------------------------

    def _call_skip_open_entries(self):
        """Do-not-call partners (and the contacts of a do-not-call company) are never
        dialed: their open entries of every call list are skipped, in one write."""
        entries_su = (
            self.env["crm.call.list.entry"]
            .sudo()
            .search(
                [
                    ("partner_id", "child_of", self.ids),
                    ("state", "in", ("pending", "callback")),
                ]
            )
        )
        entries_su.write({"state": "skipped"})

    @api.model
    def _sales_region_reassign(self, state_ids, country_ids):
        """Re-assign the region of every partner in an area, set-based.

        Called when regions change which states and countries they claim. A constant
        number of queries whatever the number of partners: one read of the partners of
        the area, one update of those whose region changes, one for the contacts that
        follow them, one per document model that carries the region.
        """
        if not state_ids and not country_ids:
            return self.browse()
        self.flush_model(REGION_SOURCE_FIELDS)
        self.env["crm.sales.region"].flush_model()
        self.env.cr.execute(
            SQL(
                """
                SELECT id, company_id, state_id, country_id, sales_region_id
                  FROM res_partner
                 WHERE id = commercial_partner_id
                   AND sales_region_manual IS NOT TRUE
                   AND (state_id = ANY(%s) OR country_id = ANY(%s))
                """,
                sorted(state_ids),
                sorted(country_ids),
            )
        )
        rows = self.env.cr.fetchall()
        matches = self.env["crm.sales.region"]._match_addresses(
            {
                (company, state, country)
                for _id, company, state, country, _region in rows
            }
        )
        changed_ids, region_ids = [], []
        for partner_id, company, state, country, current in rows:
            region_id = matches.get((company, state, country))
            if (region_id or None) != current:
                changed_ids.append(partner_id)
                region_ids.append(region_id or None)
        if not changed_ids:
            return self.browse()
        self.env.cr.execute(
            SQL(
                """
                UPDATE res_partner p
                   SET sales_region_id = c.region_id
                  FROM unnest(%s::int[], %s::int[]) AS c(id, region_id)
                 WHERE p.id = c.id
                """,
                changed_ids,
                region_ids,
            )
        )
        # Contacts follow their commercial entity unless their region was set by hand.
        self.env.cr.execute(
            SQL(
                """
                UPDATE res_partner c
                   SET sales_region_id = p.sales_region_id
                  FROM res_partner p
                 WHERE c.commercial_partner_id = p.id
                   AND c.id != p.id
                   AND p.id = ANY(%s)
                   AND c.sales_region_manual IS NOT TRUE
                   AND c.sales_region_id IS DISTINCT FROM p.sales_region_id
             RETURNING c.id
                """,
                changed_ids,
            )
        )
        changed_ids += [row[0] for row in self.env.cr.fetchall()]
        self.invalidate_model(["sales_region_id"])
        for model_name in self.env.registry.descendants(
            ["crm.sales.region.mixin"], "_inherit"
        ):
            model = self.env[model_name]
            if not model._abstract:
                model._sales_region_sync_partners(changed_ids)
        for model, partner_field, field in self._sales_region_related_fields():
            model.flush_model([partner_field, field.name])
            self.env.cr.execute(
                SQL(
                    """
                    UPDATE %(table)s AS t
                       SET %(field)s = p.sales_region_id
                      FROM res_partner p
                     WHERE t.%(partner_field)s = p.id
                       AND p.id = ANY(%(partner_ids)s)
                       AND t.%(field)s IS DISTINCT FROM p.sales_region_id
                    """,
                    table=SQL.identifier(model._table),
                    field=SQL.identifier(field.name),
                    partner_field=SQL.identifier(partner_field),
                    partner_ids=changed_ids,
                )
            )
            model.invalidate_model([field.name])
        return self.browse(changed_ids)

    def _sales_region_related_fields(self):
        """(model, partner field, field) of the stored fields related to a partner's
        sales region, e.g. ``calendar.event.sales_region_id``: the bulk path keeps
        them in step, as the ORM does when a partner's region changes."""
        for model in self.env.registry.values():
            if model._abstract or not model._auto:
                continue
            for field in model._fields.values():
                path = field.related.split(".") if field.related else []
                if not (field.store and path[1:] == ["sales_region_id"]):
                    continue
                partner_field = model._fields.get(path[0])
                if partner_field and partner_field.comodel_name == "res.partner":
                    yield self.env[model._name], path[0], field

    def _contact_interval_default(self):
        """The interval of this partner when nobody set it: the shortest of its tags,
        else its company's default; none for contacts and non-customers."""
        self.ensure_one()
        if self.commercial_partner_id != self or self.customer_rank <= 0:
            return 0
        intervals = [
            days
            for days in self.category_id.mapped("contact_interval_days")
            if days > 0
        ]
        if intervals:
            return min(intervals)
        return (self.company_id or self.env.company).crm_contact_interval_days

    def _contact_interval_mark_manual(self):
        """A written interval that differs from the default was set by hand (forms
        send the recomputed default back: that one is not)."""
        by_hand = self.filtered(
            lambda p: not p.contact_interval_manual
            and p.contact_interval_days != p._contact_interval_default()
        )
        if by_hand:
            by_hand.write({"contact_interval_manual": True})

    @api.model
    def _contact_interval_reset(self, companies):
        """Recompute the interval of the customers following these companies' default
        (and of those without a company)."""
        partners = self.with_context(active_test=False).search(
            [
                ("contact_interval_manual", "=", False),
                ("customer_rank", ">", 0),
                ("company_id", "in", [False, *companies.ids]),
            ]
        )
        for fname in ("contact_interval_days", "date_next_contact"):
            self.env.add_to_compute(self._fields[fname], partners)

    def _contact_last_dates(self):
        """{commercial entity id: its last contact} for these commercial entities:
        the latest done visit or call, or confirmed order, of the entity or of any
        of its contacts (archived ones too). One query whatever their number, the
        entities given as a literal array, which the planner counts."""
        if not self:
            return {}
        self.env["calendar.event"].flush_model(
            ["sfa_state", "active", "sfa_partner_id", "start"]
        )
        self.env["crm.phonecall"].flush_model(["state", "active", "partner_id", "date"])
        self.env["sale.order"].flush_model(["state", "partner_id", "date_order"])
        self.flush_model(["commercial_partner_id"])
        rows = self.env.execute_query(
            SQL(
                """WITH members AS (
                       SELECT id, commercial_partner_id FROM res_partner
                        WHERE commercial_partner_id = ANY(%(entities)s)
                   )
                   SELECT m.commercial_partner_id, max(done.day)
                     FROM (SELECT e.sfa_partner_id AS partner_id, e.start AS day
                             FROM calendar_event e
                            WHERE e.sfa_state = 'done' AND e.active
                              AND e.sfa_partner_id IN (SELECT id FROM members)
                           UNION ALL
                           SELECT c.partner_id, c.date
                             FROM crm_phonecall c
                            WHERE c.state = 'done' AND c.active
                              AND c.partner_id IN (SELECT id FROM members)
                           UNION ALL
                           SELECT o.partner_id, o.date_order
                             FROM sale_order o
                            WHERE o.state = 'sale'
                              AND o.partner_id IN (SELECT id FROM members)
                          ) AS done
                     JOIN members m ON m.id = done.partner_id
                    GROUP BY m.commercial_partner_id""",
                entities=list(self.ids),
            )
        )
        return {entity_id: day for entity_id, day in rows if day}

    @api.model
    def _cron_contact_followups(self, batch_size=FOLLOWUP_BATCH):
        """One follow-up activity per overdue customer for its salesperson, and the
        open ones of customers no longer overdue marked done (those of a visit or call
        marked done, or a phone call held, are closed at once: ``_contact_logged``;
        the job closes the rest, e.g. after an order or a change of cadence).

        Resumable and idempotent: each run takes the next batch of work still to do (a
        customer without an open follow-up, a follow-up whose customer is no longer
        overdue), so that a run interrupted, or called again, never duplicates. A
        bounded number of queries per batch to create; it reports the rest to the cron
        runner, which commits and calls it again.
        """
        activity_type = self.env.ref(
            "crm_extended.mail_activity_type_contact_due", raise_if_not_found=False
        )
        if not activity_type:
            return 0
        self.env.flush_all()
        Activity = self.env["mail.activity"].with_context(
            mail_activity_quick_update=True
        )
        today = fields.Date.context_today(self)

        # Follow-ups of customers that were contacted since (or lost their cadence)
        closed = self._contact_followups_close(activity_type, today, limit=batch_size)

        # Overdue customers with a salesperson and no open follow-up yet
        self.env.cr.execute(
            SQL(
                """
                SELECT p.id, p.user_id, p.date_next_contact
                  FROM (%(missing)s ORDER BY 1 LIMIT %(limit)s) AS missing
                  JOIN res_partner p ON p.id = missing.id
                 ORDER BY p.id
                """,
                missing=self._contact_followups_missing_sql(activity_type, today),
                limit=batch_size,
            )
        )
        rows = self.env.cr.fetchall()
        if rows:
            model_id = self.env["ir.model"]._get_id("res.partner")
            # Activities name their record one at a time: read the names at once.
            self.browse(row[0] for row in rows).with_env(Activity.sudo().env).mapped(
                "display_name"
            )
            Activity.create(
                [
                    {
                        "res_model_id": model_id,
                        "res_id": partner_id,
                        "activity_type_id": activity_type.id,
                        "summary": activity_type.summary or activity_type.name,
                        "user_id": user_id,
                        "date_deadline": date_next,
                    }
                    for partner_id, user_id, date_next in rows
                ]
            )

        done = closed + len(rows)
        remaining = 0
        if closed == batch_size or len(rows) == batch_size:
            remaining = self._contact_followups_remaining(activity_type, today)
        self.env["ir.cron"]._notify_progress(done=done, remaining=remaining)
        return done

    @api.model
    def _contact_logged(self, feedbacks):
        """A contact was just logged with these customers (a visit or call marked done,
        a phone call held): ``feedbacks`` is {commercial partner id: what was logged}.
        Their follow-ups that the new last contact makes no longer due are closed now,
        not at the next run of the daily job. A constant number of queries whatever
        the number of customers, and then the job's closing of each follow-up."""
        activity_type = self.env.ref(
            "crm_extended.mail_activity_type_contact_due", raise_if_not_found=False
        )
        if not feedbacks or not activity_type:
            return 0
        # The closing reads these columns in SQL: the new last contact first.
        self.flush_model(
            ["active", "commercial_partner_id", "customer_rank", "date_next_contact"]
        )
        self.env["mail.activity"].flush_model(
            ["res_model", "res_id", "activity_type_id", "active"]
        )
        today = fields.Date.context_today(self)
        return self._contact_followups_close(activity_type, today, feedbacks=feedbacks)

    @api.model
    def _contact_followups_close(
        self, activity_type, today, limit=None, feedbacks=None
    ):
        """Mark done the open follow-ups of customers no longer overdue, the lowest
        customer ids first, at most ``limit``, with the feedback "contact logged";
        with ``feedbacks`` ({commercial partner id: feedback}) only those of these
        customers, each with its own feedback. Returns how many were closed.

        Shared by the daily job and by the work that logs a contact (visits, calls,
        phone calls): one query finds the follow-ups, then one ``action_feedback``
        per feedback text posts the usual message on each customer.
        """
        partner_ids = sorted(feedbacks) if feedbacks is not None else None
        self.env.cr.execute(
            SQL(
                """
                SELECT a.id, a.res_id
                  FROM (%(stale)s ORDER BY 1 LIMIT %(limit)s) AS stale
                  JOIN mail_activity a ON a.res_id = stale.res_id
                 WHERE a.res_model = 'res.partner'
                   AND a.activity_type_id = %(type)s
                   AND a.active
                 ORDER BY a.id
                 LIMIT %(limit)s
                """,
                type=activity_type.id,
                stale=self._contact_followups_stale_sql(
                    activity_type, today, partner_ids
                ),
                limit=limit,
            )
        )
        rows = self.env.cr.fetchall()
        by_feedback = defaultdict(list)
        logged = _("contact logged")
        for activity_id, partner_id in rows:
            by_feedback[(feedbacks or {}).get(partner_id, logged)].append(activity_id)
        # The follow-ups are the job's own system activities, and the job runs as the
        # superuser (its cron user is root): whoever logs the contact closes them as
        # the job would, also when they are assigned to another salesperson whose
        # customer they may not write. Only follow-ups the job would close on its
        # next run are selected above; the message is authored by the current user.
        activities_su = (
            self.env["mail.activity"]
            .sudo()
            .with_context(mail_activity_quick_update=True)
        )
        for feedback, activity_ids in by_feedback.items():
            activities_su.browse(activity_ids).action_feedback(feedback=feedback)
        return len(rows)

    @api.model
    def _contact_overdue_sql(self, today, alias="p"):
        """SQL condition: the partner under ``alias`` is a customer whose contact is
        overdue (the same rule as ``is_contact_overdue``, for customers)."""
        return SQL(
            """(%(p)s.active
                AND %(p)s.id = %(p)s.commercial_partner_id
                AND %(p)s.customer_rank > 0
                AND %(p)s.date_next_contact < %(today)s)""",
            p=SQL.identifier(alias),
            today=today,
        )

    # The two sets below are written as EXCEPT, not as (NOT) EXISTS: PostgreSQL
    # computes a set difference by hashing or sorting, in one pass whatever its
    # statistics say. An anti-join is planned from the statistics, and while a run
    # creates thousands of follow-ups (one transaction, or faster than autovacuum
    # analyses) they still say the table has none: the planner then chose a nested
    # loop that re-read every new follow-up for each customer, and each batch took
    # longer than the one before.

    @api.model
    def _contact_followups_open_sql(self, activity_type, partner_ids=None):
        return SQL(
            """SELECT a.res_id
                 FROM mail_activity a
                WHERE a.res_model = 'res.partner'
                  AND a.activity_type_id = %(type)s
                  AND a.active%(of_partners)s""",
            type=activity_type.id,
            of_partners=self._contact_partners_sql(
                SQL.identifier("a", "res_id"), partner_ids
            ),
        )

    @api.model
    def _contact_followups_stale_sql(self, activity_type, today, partner_ids=None):
        """Ids of partners with an open follow-up who are no longer overdue (only
        among ``partner_ids`` if given)."""
        return SQL(
            "%(open)s EXCEPT SELECT p.id FROM res_partner p WHERE %(overdue)s%(of)s",
            open=self._contact_followups_open_sql(activity_type, partner_ids),
            overdue=self._contact_overdue_sql(today),
            of=self._contact_partners_sql(SQL.identifier("p", "id"), partner_ids),
        )

    @api.model
    def _contact_partners_sql(self, column, partner_ids):
        """SQL: `` AND <column> = ANY(partner_ids)``, nothing when not given."""
        if partner_ids is None:
            return SQL()
        return SQL(" AND %s = ANY(%s)", column, list(partner_ids))

    @api.model
    def _contact_followups_missing_sql(self, activity_type, today):
        """Ids of overdue customers with an active salesperson and no open
        follow-up."""
        return SQL(
            """SELECT p.id
                 FROM res_partner p
                 JOIN res_users u ON u.id = p.user_id AND u.active
                WHERE %(overdue)s
               EXCEPT %(open)s""",
            overdue=self._contact_overdue_sql(today),
            open=self._contact_followups_open_sql(activity_type),
        )

    @api.model
    def _contact_followups_remaining(self, activity_type, today):
        self.env.flush_all()
        self.env.cr.execute(
            SQL(
                """
                SELECT (SELECT count(*) FROM (%(stale)s) AS stale)
                     + (SELECT count(*) FROM (%(missing)s) AS missing)
                """,
                stale=self._contact_followups_stale_sql(activity_type, today),
                missing=self._contact_followups_missing_sql(activity_type, today),
            )
        )
        return self.env.cr.fetchone()[0]
