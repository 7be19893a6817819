def test_login_page_then_home(client, logged_in):
    for path in ["/", "/admin/settings/", "/admin/members/", "/admin/members/new", "/admin/members/import"]:
        response = logged_in.get(path)
        assert response.status_code == 200, path
