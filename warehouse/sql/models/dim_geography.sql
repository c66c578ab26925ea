-- dim_geography (type 1): every country seen in the staged events, with its region. A country
-- already present keeps its row and key.
insert into dim_geography (country, region)
with countries as (
    select country from stg_transactions
    union
    select country from stg_product_views
    union
    select country from stg_cart_events
),

-- Region of the usual ISO 3166 codes; anything else is 'Unknown' until added here.
regions (country, region) as (
    values
        ('US', 'North America'), ('CA', 'North America'), ('MX', 'North America'),
        ('BR', 'South America'), ('AR', 'South America'), ('CL', 'South America'), ('CO', 'South America'),
        ('GB', 'Europe'), ('UK', 'Europe'), ('DE', 'Europe'), ('FR', 'Europe'), ('ES', 'Europe'), ('IT', 'Europe'),
        ('NL', 'Europe'), ('BE', 'Europe'), ('SE', 'Europe'), ('PL', 'Europe'), ('IE', 'Europe'), ('PT', 'Europe'),
        ('CH', 'Europe'), ('AT', 'Europe'), ('DK', 'Europe'), ('NO', 'Europe'), ('FI', 'Europe'),
        ('JP', 'Asia Pacific'), ('CN', 'Asia Pacific'), ('IN', 'Asia Pacific'), ('KR', 'Asia Pacific'),
        ('SG', 'Asia Pacific'), ('AU', 'Asia Pacific'), ('NZ', 'Asia Pacific'), ('ID', 'Asia Pacific'),
        ('ZA', 'Africa'), ('NG', 'Africa'), ('EG', 'Africa'), ('KE', 'Africa'),
        ('AE', 'Middle East'), ('SA', 'Middle East'), ('IL', 'Middle East'), ('TR', 'Middle East')
),

final as (
    select c.country, coalesce(r.region, 'Unknown') as region
    from countries c
    left join regions r on r.country = c.country
)

select * from final
on conflict (country) do nothing;
