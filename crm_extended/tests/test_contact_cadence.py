from datetime import date, datetime, timedelta

from odoo.exceptions import ValidationError
from odoo.tests import TransactionCase, freeze_time, tagged

from .common import CrmUserMixin

# Everything in this class is created on T0 (a Wednesday); tests move "today" forward.
T0 = datetime(2031, 3, 12, 9, 0)
# A month and a day later: customers on the company default (30 days) never contacted
# since T0 are overdue.
LATER = T0 + timedelta(days=31)


@tagged("post_install", "-at_install")
class TestContactCadence(CrmUserMixin, TransactionCase):
    freeze_time = T0

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.env = cls.env(context=dict(cls.env.context, tracking_disable=True))
        cls.Partner = cls.env["res.partner"]
        cls.Activity = cls.env["mail.activity"]
        cls.activity_type = cls.env.ref("crm_extended.mail_activity_type_contact_due")
        # Whatever the database holds already (demo data) has no cadence here, and no
        # open follow-up: the job only sees what this class builds.
        cls.Partner.with_context(active_test=False).search(
            [("date_next_contact", "!=", False)]
        ).write({"contact_interval_days": 0})
        cls.Activity.with_context(active_test=False).search(
            [("activity_type_id", "=", cls.activity_type.id)]
        ).unlink()
        cls.env.company.crm_contact_interval_days = 30

        cls.salesman = cls._user("salesperson", "cadence_salesman", "Cade Sales")
        cls.salesman_2 = cls._user("salesperson", "cadence_salesman2", "Cora Sales")
        Tag = cls.env["res.partner.category"]
        cls.tag_key = Tag.create({"name": "Cadence key", "contact_interval_days": 7})
        cls.tag_slow = Tag.create({"name": "Cadence slow", "contact_interval_days": 60})
        cls.tag_plain = Tag.create({"name": "Cadence plain"})

        cls.cust_plain = cls._customer("Plain Corp", user_id=cls.salesman.id)
        cls.contact_plain = cls._created_on_t0(
            cls.Partner.create({"name": "Paula Plain", "parent_id": cls.cust_plain.id})
        )
        cls.cust_key = cls._customer(
            "Key Corp",
            user_id=cls.salesman_2.id,
            category_id=[(6, 0, (cls.tag_key | cls.tag_slow | cls.tag_plain).ids)],
        )
        cls.cust_no_user = cls._customer("Nobody's Corp")
        cls.cust_manual = cls._customer(
            "Manual Corp", user_id=cls.salesman.id, contact_interval_days=90
        )
        cls.vendor = cls._created_on_t0(
            cls.Partner.create({"name": "Vendor Corp", "is_company": True})
        )

    @classmethod
    def _customer(cls, name, **vals):
        return cls._created_on_t0(
            cls.Partner.create(
                {"name": name, "is_company": True, "customer_rank": 1, **vals}
            )
        )

    @classmethod
    def _customers(cls, count, prefix, **vals):
        return cls._created_on_t0(
            cls.Partner.create(
                [
                    {
                        "name": f"{prefix} {i}",
                        "is_company": True,
                        "customer_rank": 1,
                        **vals,
                    }
                    for i in range(count)
                ]
            )
        )

    @classmethod
    def _created_on_t0(cls, partners):
        """The cursor's clock is not frozen: date the partners' creation on T0."""
        partners.flush_recordset()
        cls.env.cr.execute(
            "UPDATE res_partner SET create_date = %s WHERE id = ANY(%s)",
            (T0, partners.ids),
        )
        partners.invalidate_recordset(["create_date"])
        cls.env.add_to_compute(cls.Partner._fields["date_next_contact"], partners)
        partners.flush_recordset()
        return partners

    def _followups(self, partners=None):
        """{(partner, user)} of the open follow-ups (of these partners)."""
        domain = [
            ("res_model", "=", "res.partner"),
            ("activity_type_id", "=", self.activity_type.id),
        ]
        if partners is not None:
            domain.append(("res_id", "in", partners.ids))
        return {
            (self.Partner.browse(a.res_id), a.user_id)
            for a in self.Activity.search(domain)
        }

    def _event(self, partner, start, kind="visit", user=None):
        return self.env["calendar.event"].create(
            {
                "name": f"{kind.capitalize()} {partner.name}",
                "sfa_kind": kind,
                "sfa_partner_id": partner.id,
                "start": start,
                "stop": start + timedelta(hours=1),
                "user_id": (user or self.env.user).id,
            }
        )

    def _call(self, partner, when, state="done"):
        return self.env["crm.phonecall"].create(
            {
                "name": f"Call {partner.name}",
                "partner_id": partner.id,
                "date": when,
                "state": state,
            }
        )

    # ------------------------------------------------------------
    # Interval
    # ------------------------------------------------------------

    def test_interval_defaults(self):
        self.assertEqual(self.cust_plain.contact_interval_days, 30, "company default")
        self.assertEqual(self.cust_key.contact_interval_days, 7, "shortest tag wins")
        self.assertEqual(self.contact_plain.contact_interval_days, 0, "contacts follow")
        self.assertEqual(self.vendor.contact_interval_days, 0, "not a customer")
        self.assertFalse(self.vendor.date_next_contact)
        self.assertEqual(self.cust_manual.contact_interval_days, 90)
        self.assertTrue(self.cust_manual.contact_interval_manual)
        self.assertFalse(self.cust_plain.contact_interval_manual)

        # A form sends the default back on create: that is no choice by hand.
        as_form = self._customer("Form Corp", contact_interval_days=30)
        self.assertFalse(as_form.contact_interval_manual)

        # Tags change the default, not an interval set by hand.
        self.cust_plain.category_id = self.tag_key
        self.cust_manual.category_id = self.tag_key
        self.assertEqual(self.cust_plain.contact_interval_days, 7)
        self.assertEqual(self.cust_manual.contact_interval_days, 90)
        self.tag_key.contact_interval_days = 14
        self.assertEqual(self.cust_plain.contact_interval_days, 14)
        self.assertEqual(self.cust_key.contact_interval_days, 14)

        # Set by hand, it stays; cleared, it follows again.
        self.cust_key.contact_interval_days = 3
        self.assertTrue(self.cust_key.contact_interval_manual)
        self.cust_key.category_id = self.tag_slow
        self.assertEqual(self.cust_key.contact_interval_days, 3)
        self.cust_key.contact_interval_manual = False
        self.assertEqual(self.cust_key.contact_interval_days, 60)

        # The company setting reaches the customers that follow it.
        settings = self.env["res.config.settings"].create({})
        settings.crm_contact_interval_days = 45
        settings.execute()
        self.assertEqual(self.cust_no_user.contact_interval_days, 45)
        self.assertEqual(self.cust_manual.contact_interval_days, 90)
        self.assertEqual(self.cust_no_user.date_next_contact, date(2031, 4, 26))

    def test_interval_negative(self):
        with self.assertRaises(ValidationError):
            self.cust_plain.write({"contact_interval_days": -1, "comment": "changed"})
        self.assertEqual(self.cust_plain.contact_interval_days, 30)
        self.assertFalse(self.cust_plain.comment)
        with self.assertRaises(ValidationError):
            self.tag_slow.contact_interval_days = -5
        self.assertEqual(self.tag_slow.contact_interval_days, 60)
        with self.assertRaises(ValidationError):
            self.env.company.crm_contact_interval_days = -1
        # 0: no cadence, never overdue.
        self.cust_plain.contact_interval_days = 0
        self.assertFalse(self.cust_plain.date_next_contact)

    # ------------------------------------------------------------
    # Last and next contact
    # ------------------------------------------------------------

    def test_last_contact_sources(self):
        customer = self.cust_plain
        self.assertFalse(customer.date_last_contact)
        self.assertEqual(customer.date_next_contact, date(2031, 4, 11), "from creation")

        # A done visit with the company
        visit = self._event(customer, T0 - timedelta(days=20))
        self.assertFalse(customer.date_last_contact, "planned work is no contact")
        visit.action_sfa_done("Met the buyer")
        self.assertEqual(customer.date_last_contact, T0 - timedelta(days=20))
        self.assertEqual(customer.date_next_contact, date(2031, 3, 22))

        # A held call with one of its contacts
        open_call = self._call(self.contact_plain, T0 - timedelta(days=2), state="open")
        self.assertEqual(customer.date_last_contact, T0 - timedelta(days=20))
        open_call.state = "done"
        self.assertEqual(customer.date_last_contact, T0 - timedelta(days=2))
        self.assertFalse(self.contact_plain.date_last_contact, "contacts follow")

        # A confirmed order, placed by the contact
        with freeze_time(T0 + timedelta(days=1)):
            order = self.env["sale.order"].create({"partner_id": self.contact_plain.id})
            self.assertEqual(customer.date_last_contact, T0 - timedelta(days=2))
            order.action_confirm()
        self.assertEqual(customer.date_last_contact, T0 + timedelta(days=1))
        self.assertEqual(customer.date_next_contact, date(2031, 4, 12))

        # Sources going away give the date back
        order._action_cancel()
        self.assertEqual(customer.date_last_contact, T0 - timedelta(days=2))
        open_call.unlink()
        self.assertEqual(customer.date_last_contact, T0 - timedelta(days=20))

    def test_last_contact_batch(self):
        """Many customers are computed together: one grouped read per source."""
        customers = self._customers(30, "Batch")
        self.env["crm.phonecall"].create(
            [
                {
                    "name": "c",
                    "partner_id": p.id,
                    "date": T0 - timedelta(days=i),
                    "state": "done",
                }
                for i, p in enumerate(customers)
            ]
        )
        self.env.flush_all()
        self.env.add_to_compute(self.Partner._fields["date_last_contact"], customers)
        with self.assertQueryCount(6):
            customers.flush_recordset(["date_last_contact"])
        self.assertEqual(customers[7].date_last_contact, T0 - timedelta(days=7))

    def test_overdue_search(self):
        self._call(self.cust_key, T0 - timedelta(days=10))
        mine = self.cust_plain | self.cust_key | self.cust_no_user | self.cust_manual
        mine |= self.vendor | self.contact_plain
        overdue = self.Partner.search(
            [("is_contact_overdue", "=", True), ("id", "in", mine.ids)]
        )
        self.assertEqual(
            overdue, self.cust_key, "last contact 10 days ago, every 7 days"
        )
        with freeze_time(LATER):
            overdue = self.Partner.search(
                [("is_contact_overdue", "=", True), ("id", "in", mine.ids)]
            )
            self.assertEqual(
                overdue, self.cust_plain | self.cust_key | self.cust_no_user
            )
            not_overdue = self.Partner.search(
                [("is_contact_overdue", "=", False), ("id", "in", mine.ids)]
            )
            self.assertEqual(not_overdue, mine - overdue)
            self.assertTrue(self.cust_plain.is_contact_overdue)
            self.assertFalse(self.cust_manual.is_contact_overdue)

    # ------------------------------------------------------------
    # The daily job
    # ------------------------------------------------------------

    def test_job_one_followup_per_overdue_customer(self):
        expected = {(self.cust_plain, self.salesman), (self.cust_key, self.salesman_2)}
        with freeze_time(LATER):
            self.Partner._cron_contact_followups()
            self.assertEqual(self._followups(), expected, "no salesperson: skipped")
            activity = self.Activity.search(
                [
                    ("activity_type_id", "=", self.activity_type.id),
                    ("res_id", "=", self.cust_key.id),
                ]
            )
            self.assertEqual(activity.date_deadline, date(2031, 3, 19))
            # Run again: nothing new while the follow-ups are open.
            self.Partner._cron_contact_followups()
            self.assertEqual(
                len(
                    self.Activity.search(
                        [("activity_type_id", "=", self.activity_type.id)]
                    )
                ),
                2,
            )

    def test_job_closes_when_contact_logged(self):
        with freeze_time(LATER):
            self.Partner._cron_contact_followups()
            # An order is a contact that leaves the follow-up to the job.
            order = self.env["sale.order"].create({"partner_id": self.contact_plain.id})
            order.action_confirm()
            self.assertFalse(self.cust_plain.is_contact_overdue)
            self.assertEqual(len(self._followups()), 2)
            self.Partner._cron_contact_followups()
            self.assertEqual(self._followups(), {(self.cust_key, self.salesman_2)})
            self.assertIn("contact logged", self.cust_plain.message_ids[0].body)
            # Overdue again later: a new follow-up.
        with freeze_time(LATER + timedelta(days=31)):
            self.Partner._cron_contact_followups()
            self.assertEqual(
                self._followups(self.cust_plain), {(self.cust_plain, self.salesman)}
            )

    def test_job_resumable(self):
        more = self._customers(5, "More", user_id=self.salesman.id)
        cron = self.env.ref("crm_extended.ir_cron_res_partner_contact_followups")
        with freeze_time(LATER):
            progress = self.env["ir.cron.progress"].create({"cron_id": cron.id})
            job = self.Partner.with_context(ir_cron_progress_id=progress.id)
            job._cron_contact_followups(batch_size=2)
            self.assertEqual((progress.done, progress.remaining), (2, 5))
            self.assertEqual(len(self._followups()), 2)
            # Interrupted in the middle of a batch: nothing of it stays.
            with self.assertRaises(ZeroDivisionError), self.env.cr.savepoint():
                job._cron_contact_followups(batch_size=2)
                _fail = 1 / 0
            self.assertEqual(len(self._followups()), 2)
            # The runner calls it again while there is work left.
            runs = 1
            while progress.remaining:
                progress = self.env["ir.cron.progress"].create({"cron_id": cron.id})
                job.with_context(
                    ir_cron_progress_id=progress.id
                )._cron_contact_followups(batch_size=2)
                runs += 1
            self.assertEqual(runs, 4)
            expected = {(p, self.salesman) for p in more | self.cust_plain}
            expected.add((self.cust_key, self.salesman_2))
            self.assertEqual(self._followups(), expected)
            self.Partner._cron_contact_followups()
            self.assertEqual(
                len(
                    self.Activity.search(
                        [("activity_type_id", "=", self.activity_type.id)]
                    )
                ),
                7,
            )

    def test_job_query_count(self):
        """The queries of a batch do not grow with the number of customers (the ORM
        writes rows 100 to an INSERT: both counts stay under that)."""

        def overdue_customers(count):
            return self._customers(count, "Q", user_id=self.salesman.id)

        def count_queries():
            self.env.flush_all()
            self.env.invalidate_all()
            before = self.env.cr.sql_log_count
            self.Partner._cron_contact_followups()
            self.env.flush_all()
            return self.env.cr.sql_log_count - before

        with freeze_time(LATER):
            self.Partner._cron_contact_followups()
            few = overdue_customers(20)
            queries_few = count_queries()
            many = overdue_customers(90)
            queries_many = count_queries()
        self.assertEqual(len(self._followups(few | many)), 110)
        self.assertEqual(queries_few, queries_many)

    # ------------------------------------------------------------
    # Follow-ups closed when the contact is logged
    # ------------------------------------------------------------

    def _assert_job_idle(self, followups):
        """The daily job afterwards finds nothing to do: the same follow-ups, no new
        message on the customers."""
        messages = self.env["mail.message"].search_count(
            [("model", "=", "res.partner")]
        )
        self.assertEqual(self.Partner._cron_contact_followups(), 0)
        self.assertEqual(self._followups(), followups)
        self.assertEqual(
            self.env["mail.message"].search_count([("model", "=", "res.partner")]),
            messages,
        )

    def test_visit_done_closes_followup(self):
        with freeze_time(LATER):
            self.Partner._cron_contact_followups()
            visit = self._event(self.cust_plain, LATER - timedelta(hours=2))
            self.assertEqual(len(self._followups()), 2, "planned work is no contact")
            visit.action_sfa_done("Met the buyer")
            self.assertEqual(self._followups(), {(self.cust_key, self.salesman_2)})
            self.assertIn(
                "Visit done: Visit Plain Corp", self.cust_plain.message_ids[0].body
            )
            self._assert_job_idle({(self.cust_key, self.salesman_2)})

    def test_call_done_closes_followup_of_another_salesperson(self):
        """A salesperson's call with a customer of another salesperson closes that
        salesperson's follow-up, also where they may not write that customer."""
        self.env["ir.rule"].create(
            {
                "name": "Salespeople write their own customers",
                "model_id": self.env["ir.model"]._get_id("res.partner"),
                "groups": [(4, self.env.ref("sales_team.group_sale_salesman").id)],
                "domain_force": "[('user_id', 'in', (False, user.id))]",
                "perm_read": False,
                "perm_create": False,
                "perm_unlink": False,
            }
        )
        with freeze_time(LATER):
            self.Partner._cron_contact_followups()
            call = self._event(
                self.cust_key, LATER - timedelta(hours=2), "call", self.salesman
            )
            call.with_user(self.salesman).action_sfa_done("Agreed on a demo")
            self.assertEqual(self._followups(), {(self.cust_plain, self.salesman)})
            message = self.cust_key.message_ids[0]
            self.assertIn("Call done: Call Key Corp", message.body)
            self.assertEqual(message.author_id, self.salesman.partner_id)
            self.assertEqual(call.phonecall_id.state, "done", "the call is logged")
            self._assert_job_idle({(self.cust_plain, self.salesman)})

    def test_phonecall_held_closes_followup(self):
        with freeze_time(LATER):
            self.Partner._cron_contact_followups()
            phonecall = self._call(
                self.contact_plain, LATER - timedelta(hours=1), state="open"
            )
            self.assertEqual(len(self._followups()), 2, "an open call is no contact")
            phonecall.state = "done"
            self.assertEqual(self._followups(), {(self.cust_key, self.salesman_2)})
            self.assertIn(
                "Call held: Call Paula Plain", self.cust_plain.message_ids[0].body
            )
            self._assert_job_idle({(self.cust_key, self.salesman_2)})

    def test_contact_still_due_keeps_followup(self):
        with freeze_time(LATER):
            self.Partner._cron_contact_followups()
            expected = {
                (self.cust_plain, self.salesman),
                (self.cust_key, self.salesman_2),
            }
            # Work done with another customer
            self._event(self.cust_no_user, LATER - timedelta(hours=2)).action_sfa_done(
                "Met"
            )
            # Work not done
            planned = self._event(self.cust_plain, LATER - timedelta(hours=2))
            self._event(self.cust_plain, LATER - timedelta(hours=4)).action_sfa_cancel()
            self._call(self.cust_plain, LATER - timedelta(hours=1), state="cancel")
            # Done work too old for the contact to be no longer due: logged late, 40
            # days ago, every 30 days.
            old = self._event(self.cust_plain, LATER - timedelta(days=40))
            old.action_sfa_done("Met, logged late")
            self.assertEqual(self.cust_plain.date_last_contact, old.start)
            self.assertTrue(self.cust_plain.is_contact_overdue)
            self.assertEqual(self._followups(), expected)
            self._assert_job_idle(expected)
            # Done now, the planned visit closes it.
            planned.action_sfa_done("Met")
            self.assertEqual(self._followups(), {(self.cust_key, self.salesman_2)})

    def test_contact_close_query_count(self):
        """Marking work done costs the same queries for 1 event as for 20 events of
        20 customers (each run closes one follow-up: closing one posts its message on
        the customer, as the job does)."""
        with freeze_time(LATER):
            followed = self._customers(3, "Followed", user_id=self.salesman.id)
            # Overdue, but without a salesperson: no follow-up.
            others = self._customers(19, "Unfollowed")
            self.Partner._cron_contact_followups()
            self.assertEqual(len(self._followups(followed)), 3)

            def mark_done(partners):
                events = self.env["calendar.event"].browse(
                    self._event(p, LATER - timedelta(hours=2), user=self.salesman).id
                    for p in partners
                )
                self.env.flush_all()
                self.env.invalidate_all()
                before = self.env.cr.sql_log_count
                events.with_user(self.salesman).action_sfa_done("Met")
                self.env.flush_all()
                return self.env.cr.sql_log_count - before

            mark_done(followed[0])  # warms the caches
            queries_one = mark_done(followed[1])
            self.assertFalse(self._followups(followed[:2]))
            queries_many = mark_done(followed[2] | others)
            self.assertFalse(self._followups(followed))
        self.assertEqual(queries_one, queries_many)

    # ------------------------------------------------------------
    # Access
    # ------------------------------------------------------------

    def test_salesman_reads_cadence(self):
        fields = [
            "contact_interval_days",
            "date_last_contact",
            "date_next_contact",
            "is_contact_overdue",
        ]
        with freeze_time(LATER):
            partner = self.cust_plain.with_user(self.salesman)
            values = partner.read(fields)[0]
            self.assertEqual(values["date_next_contact"], date(2031, 4, 11))
            self.assertTrue(values["is_contact_overdue"])
            found = self.Partner.with_user(self.salesman).search(
                [("is_contact_overdue", "=", True), ("user_id", "=", self.salesman.id)]
            )
            self.assertIn(self.cust_plain, found)
            self.Partner._cron_contact_followups()
            self.assertEqual(
                self._followups(self.cust_plain), {(self.cust_plain, self.salesman)}
            )
