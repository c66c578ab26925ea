-- Every cart event is loaded once.
select event_id, count(*) as copies
from fact_cart_events
group by event_id
having count(*) > 1
