from . import partner_region_xlsx
