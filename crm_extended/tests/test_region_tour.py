from odoo.tests import tagged

from .common import CrmExtendedTourCase

# Names shared with static/tests/tours/crm_extended_region_tour.js.
TOUR_NAME = "crm_extended_region_tour"
REGION_NAME = "Tour Region Quartz"
REGION_CODE = "TRQ"
STATE_NAME = "Tour State Quartz"
CUSTOMER_NAME = "Tour Customer Quartz"


@tagged("post_install", "-at_install")
class TestRegionTour(CrmExtendedTourCase):
    """The admin creates a region in the browser; its customers join it at once."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        # A country of the test alone ("QZ" is an ISO user-assigned code), so that no
        # other region, demo or not, claims the state or the country of the customer.
        cls.country = cls.env["res.country"].create(
            {"name": "Tour Country Quartz", "code": "QZ"}
        )
        cls.state = cls.env["res.country.state"].create(
            {"name": STATE_NAME, "code": "TQZ", "country_id": cls.country.id}
        )
        cls.customer = cls.env["res.partner"].create(
            {
                "name": CUSTOMER_NAME,
                "is_company": True,
                "country_id": cls.country.id,
                "state_id": cls.state.id,
            }
        )

    def test_region_tour(self):
        Region = self.env["crm.sales.region"].with_context(active_test=False)
        self.assertFalse(Region.search_count([("code", "=", REGION_CODE)]))
        self.assertFalse(self.customer.sales_region_id)
        self.start_tour_strict("/odoo", TOUR_NAME, login="admin")

        # The browser wrote through the test cursor: read the database again.
        self.env.invalidate_all()
        region = Region.search([("code", "=", REGION_CODE)])
        self.assertEqual(len(region), 1, "the tour creates one region")
        self.assertEqual(region.name, REGION_NAME)
        self.assertEqual(region.state_ids, self.state)
        self.assertEqual(self.customer.sales_region_id, region)
        self.assertFalse(self.customer.sales_region_manual)
