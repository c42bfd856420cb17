from contextlib import contextmanager

from odoo import Command
from odoo.tests import tagged
from odoo.tests.common import warmup

from odoo.addons.phone_validation.tools import phone_validation

from .test_call_list import CallListCase

SMALL = 20
LARGE = 200  # ten times more: the query counts must not change

# Queries of each step, for a list of SMALL entries and for one of LARGE entries.
BUILD_QUERIES = 18
DISTRIBUTE_QUERIES = 7
RESERVE_QUERIES = 10


@tagged("post_install", "-at_install")
class TestCallListQueries(CallListCase):
    """Building, distributing and reserving cost a number of queries that does not
    depend on the size of the list."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.batch = 0

    def _partners(self, count):
        type(self).batch += 1
        start = 1000 * type(self).batch
        return self.Partner.create(
            [
                {
                    "name": f"Queued {start + i}",
                    "is_company": True,
                    "country_id": self.country.id,
                    "phone": f"+32 471 {start + i:06d}",
                }
                for i in range(count)
            ]
        )

    def _draft(self, count):
        partners = self._partners(count)
        self.env.flush_all()
        return self._list(partners).with_user(self.sales_manager)

    @contextmanager
    def _same_count(self, expected, counts):
        """assertQueryCount(expected), and the count appended to ``counts``: the
        caller checks that the small and the large list cost exactly the same (the
        guard alone only fails on more queries)."""
        with self.assertQueryCount(expected):
            before = self.cr.sql_log_count
            yield
            self.env.flush_all()
            counts.append(self.cr.sql_log_count - before)

    def _assert_same(self, counts):
        if self.warm:
            self.assertEqual(counts[0], counts[1], "small and large lists")

    @warmup
    def test_build_query_count(self):
        small, large = self._draft(SMALL), self._draft(LARGE)
        counts = []
        for call_list in (small, large):
            self.env.invalidate_all()
            with self._same_count(BUILD_QUERIES, counts):
                call_list.action_build()
        self._assert_same(counts)
        self.assertEqual(len(small.entry_ids), SMALL)
        self.assertEqual(len(large.entry_ids), LARGE)

    @warmup
    def test_distribute_query_count(self):
        small, large = self._draft(SMALL), self._draft(LARGE)
        counts = []
        for call_list in (small, large):
            call_list.action_build()
            self.env.invalidate_all()
            with self._same_count(DISTRIBUTE_QUERIES, counts):
                call_list.action_distribute()
        self._assert_same(counts)
        self.assertEqual(sorted(self._count(large.entry_ids).values()), [66, 67, 67])

    @warmup
    def test_reserve_next_query_count(self):
        agent = self.agent_1
        Entry = self.Entry.with_user(agent)
        counts = []
        for count in (SMALL, LARGE):
            partners = self._partners(count)
            self.env.flush_all()
            call_list = self._running(partners, agent_ids=[Command.set(agent.ids)])
            self.assertEqual(len(call_list.entry_ids), count)
            self.env.invalidate_all()
            with self._same_count(RESERVE_QUERIES, counts):
                entry = Entry.reserve_next(agent)
            self.assertEqual(entry.call_list_id, call_list)
            self.assertEqual(entry.state, "in_progress")
            call_list.action_done()
        self._assert_same(counts)

    def _count(self, entries):
        counts = {}
        for entry in entries:
            counts[entry.agent_id] = counts.get(entry.agent_id, 0) + 1
        return counts

    def test_format_number_as_phone_format(self):
        """The E.164 shortcut of the build gives what phone_format gives: valid E.164
        numbers unchanged, the ones phone_format repairs repaired, the others
        refused."""
        CallList = self.env["crm.call.list"]
        belgium = self.env.ref("base.be")
        for number in (
            "+32471000123",
            "0471 00 01 23",
            "+5212468218781",  # Mexico: the old mobile "1" is dropped
            "+558581452852",  # Brazil: the ninth digit of mobiles is added
            "+49008156531",  # a trunk prefix after the country code
        ):
            expected = phone_validation.phone_format(
                number, "BE", belgium.phone_code, force_format="E164"
            )
            self.assertEqual(
                CallList._format_number(number, "BE", belgium.phone_code), expected
            )
        self.assertFalse(CallList._format_number("+3212", "BE", 32))
        self.assertFalse(CallList._format_number("+99912345678", "BE", 32))
