-- %%
print(1)
--> 1
-- %% [markdown]
-- hi