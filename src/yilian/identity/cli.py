"""``yilian user create|list``."""

from __future__ import annotations

import typer

from yilian.cli.context import cli_actor, err, handles_errors, transaction
from yilian.identity import service
from yilian.identity.roles import ROLE_NAMES_ZH, parse_role

app = typer.Typer(help="用户与角色。", no_args_is_help=True)


@app.command("create")
@handles_errors
def create(
    username: str = typer.Option(..., "--username", help="登录名"),
    password: str = typer.Option(..., "--password", help="初始密码（至少 8 位）"),
    role: str = typer.Option(..., "--role", help="角色代码，如 clinician、consortium_manager"),
    institution: str | None = typer.Option(None, "--institution", help="机构代码（医生、药师）"),
    consortium: str | None = typer.Option(None, "--consortium", help="医联体代码（医联体管理、转诊办）"),
    division: str | None = typer.Option(None, "--division", help="行政区划代码（卫健委、医保局）"),
    name: str | None = typer.Option(None, "--name", help="显示姓名"),
    database: str | None = typer.Option(None, "--database", help="数据库 URL"),
) -> None:
    """创建用户并授予一个角色。"""
    with transaction(database) as session:
        inst_id, cons_id, div = service.resolve_grant_scope(session, institution, consortium, division)
        user = service.do_create_user(
            session, cli_actor(), username=username, password=password, role=parse_role(role), display_name=name,
            institution_id=inst_id, consortium_id=cons_id, division_code=div,
        )
        err.print(f"[green]已创建用户 {user.username}（{ROLE_NAMES_ZH[parse_role(role)]}）[/green]")
        print(user.id)


@app.command("list")
@handles_errors
def list_(database: str | None = typer.Option(None, "--database")) -> None:
    """列出用户及其角色。"""
    with transaction(database) as session:
        for u in service.list_users(session, cli_actor()):
            roles = ",".join(g.role for g in u.grants)
            print(f"{u.id}\t{u.username}\t{u.display_name}\t{roles}")
