from odoo.tests import TransactionCase, tagged

from ..text import name_list


@tagged("post_install", "-at_install")
class TestNameList(TransactionCase):
    def test_few_names_all_listed(self):
        self.assertEqual(name_list(self.env, ["Ann"]), "Ann")
        self.assertEqual(name_list(self.env, ["Ann", "Bob"]), "Ann and Bob")
        self.assertEqual(name_list(self.env, ["Ann", "Bob", "Cy"]), "Ann, Bob, and Cy")

    def test_many_names_counted(self):
        names = [f"Person {n}" for n in range(70)]
        text = name_list(self.env, names)
        self.assertEqual(text, "Person 0, Person 1, Person 2 and 67 others")
        self.assertNotIn("Person 3", text)

    def test_recordset_display_names(self):
        partners = self.env["res.partner"].create(
            [{"name": f"Customer {n}"} for n in range(5)]
        )
        self.assertEqual(
            name_list(self.env, partners),
            "Customer 0, Customer 1, Customer 2 and 2 others",
        )
