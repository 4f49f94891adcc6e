import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;

/**
 * pgjdbc's Connection.setReadOnly and setTransactionIsolation, in autocommit and in
 * transactions, for each readOnlyMode. Usage: java JdbcReadOnly JDBC_URL. Prints one
 * line per step (the answer, or the SQLSTATE and message), so a test can compare two
 * servers line for line.
 */
public class JdbcReadOnly {
    static Connection conn;

    static void step(String sql) {
        try (Statement st = conn.createStatement()) {
            if (st.execute(sql)) {
                try (ResultSet rs = st.getResultSet()) {
                    rs.next();
                    System.out.println(sql + " -> " + rs.getString(1));
                }
            } else {
                System.out.println(sql + " -> " + st.getUpdateCount());
            }
        } catch (SQLException e) {
            System.out.println(sql + " -> " + e.getSQLState() + " " + e.getMessage().split("\n")[0]);
        }
    }

    static void run(String what, ThrowingRunnable action) {
        try {
            action.run();
            System.out.println(what + " ok");
        } catch (SQLException e) {
            System.out.println(what + " -> " + e.getSQLState() + " " + e.getMessage().split("\n")[0]);
        }
    }

    interface ThrowingRunnable {
        void run() throws SQLException;
    }

    static void steps() {
        step("show transaction_read_only");
        step("show default_transaction_read_only");
        step("insert into jro values (1)");
        step("select count(*) from jro");
    }

    public static void main(String[] args) throws Exception {
        for (String mode : new String[] {"transaction", "always", "ignore"}) {
            System.out.println("MODE " + mode);
            conn = DriverManager.getConnection(args[0] + "&readOnlyMode=" + mode);
            step("create table if not exists jro (a int)");
            run("setReadOnly(true)", () -> conn.setReadOnly(true));
            steps();
            run("setAutoCommit(false)", () -> conn.setAutoCommit(false));
            steps();
            run("rollback", () -> conn.rollback());
            run("setTransactionIsolation(SERIALIZABLE)",
                () -> conn.setTransactionIsolation(Connection.TRANSACTION_SERIALIZABLE));
            step("show transaction_isolation");
            run("commit", () -> conn.commit());
            run("setReadOnly(false)", () -> conn.setReadOnly(false));
            steps();
            run("commit", () -> conn.commit());
            run("getTransactionIsolation " + conn.getTransactionIsolation(), () -> { });
            run("setTransactionIsolation(REPEATABLE_READ)",
                () -> conn.setTransactionIsolation(Connection.TRANSACTION_REPEATABLE_READ));
            step("show transaction_isolation");
            run("getTransactionIsolation " + conn.getTransactionIsolation(), () -> { });
            run("rollback", () -> conn.rollback());
            run("setAutoCommit(true)", () -> conn.setAutoCommit(true));
            run("setReadOnly(true)", () -> conn.setReadOnly(true));
            steps();
            step("drop table jro");
            conn.close();
        }
    }
}
