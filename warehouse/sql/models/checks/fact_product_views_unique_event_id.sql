-- Every view is loaded once.
select event_id, count(*) as copies
from fact_product_views
group by event_id
having count(*) > 1
